package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/application"
)

// ServerConfig is where Module's server listens, and its limits (zero
// values take NewServer's defaults).
type ServerConfig struct {
	Addr string
	// ReadTimeout bounds reading a request, body included
	// (DefaultReadTimeout); SSE streams are exempt once they start.
	ReadTimeout time.Duration
	// DebugAddr, when set, is where a second server serves the profiles
	// of NewDebugHandler; empty, there is none.
	DebugAddr string
}

// Module provides the API Handler and the Server, and starts the server
// with the application (last, since it depends on everything) and stops it
// first: streams end, in-flight requests finish, then the stores close. It
// needs the use cases, a Config, a ServerConfig, a *slog.Logger, a
// prometheus.Registerer and Gatherer, and the ReadinessChecks in the value
// group "readiness".
var Module = fx.Module("httpapi",
	fx.Provide(
		NewMetrics,
		newHandler,
		newServer,
	),
	fx.Invoke(func(*Server) {}, startDebugServer),
)

type handlerParams struct {
	fx.In

	SendMessage         *application.SendMessage
	ListMessages        *application.ListMessages
	CreateDirectMessage *application.CreateDirectMessage
	CreateGroup         *application.CreateGroup
	AddMember           *application.AddMember
	RemoveMember        *application.RemoveMember
	ListConversations   *application.ListConversations
	MarkRead            *application.MarkRead
	SubscribeChannel    *application.SubscribeChannel
	SubscribeInbox      *application.SubscribeInbox

	Config    Config
	Logger    *slog.Logger
	Metrics   *Metrics
	Gatherer  prometheus.Gatherer
	Readiness []ReadinessCheck `group:"readiness"`
}

func newHandler(p handlerParams) (*Handler, error) {
	return NewHandler(UseCases{
		SendMessage:         p.SendMessage,
		ListMessages:        p.ListMessages,
		CreateDirectMessage: p.CreateDirectMessage,
		CreateGroup:         p.CreateGroup,
		AddMember:           p.AddMember,
		RemoveMember:        p.RemoveMember,
		ListConversations:   p.ListConversations,
		MarkRead:            p.MarkRead,
		SubscribeChannel:    p.SubscribeChannel,
		SubscribeInbox:      p.SubscribeInbox,
	}, p.Config, Deps{Logger: p.Logger, Metrics: p.Metrics, Gatherer: p.Gatherer, Readiness: p.Readiness})
}

func newServer(lc fx.Lifecycle, cfg ServerConfig, h *Handler, logger *slog.Logger) *Server {
	s := NewServer(cfg.Addr, h, logger, WithReadTimeout(cfg.ReadTimeout))
	lc.Append(fx.Hook{
		OnStart: s.Start,
		OnStop:  func(ctx context.Context) error { return s.Stop(ctx) },
	})
	return s
}

// startDebugServer runs the profiling server of cfg.DebugAddr, if any,
// for the application's lifetime.
func startDebugServer(lc fx.Lifecycle, cfg ServerConfig, logger *slog.Logger) {
	if cfg.DebugAddr == "" {
		return
	}
	s := NewServer(cfg.DebugAddr, NewDebugHandler(), logger.With("server", "debug"))
	lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
}
