// Package app assembles Relay from its adapters and use cases with fx. It
// is importable so that the black-box tests run the very service that
// `relay serve` runs.
package app

import (
	"context"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/pgnotify"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/redis"
	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/adapters/system"
	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/ports"
)

// New returns the assembled service; Start runs it and Stop shuts it down
// (streams end, in-flight requests finish, then the pool closes). extra
// options are for tests (fx.Populate, say).
func New(cfg Config, logger *slog.Logger, extra ...fx.Option) *fx.App {
	return fx.New(append([]fx.Option{Options(cfg, logger)}, extra...)...)
}

// Options is the whole service as one fx option.
func Options(cfg Config, logger *slog.Logger) fx.Option {
	return fx.Options(
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: logger}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		fx.StartTimeout(cfg.ShutdownTimeout),
		fx.StopTimeout(cfg.ShutdownTimeout),
		fx.Supply(
			logger,
			memory.Options{QueueSize: cfg.QueueSize, Logger: logger},
			httpapi.Config{
				AuthSecret:     cfg.AuthSecret,
				Heartbeat:      cfg.Heartbeat,
				RetryInterval:  cfg.SSERetry,
				MaxBodyBytes:   cfg.MaxBodyBytes,
				WriteTimeout:   cfg.SSEWriteTimeout,
				RequestTimeout: cfg.RequestTimeout,
				Limits:         cfg.Limits,
				DevTokens:      cfg.Dev,
			},
			httpapi.ServerConfig{Addr: cfg.Addr, ReadTimeout: cfg.ReadTimeout, DebugAddr: cfg.DebugAddr},
		),
		fx.Provide(
			newRegistry,
			readinessCheck("store", func(h *sqlstore.HealthChecker) func(context.Context) error { return h.Ping }),
			readinessCheck("notifier", func(n ports.Notifier) func(context.Context) error { return n.Ping }),
		),
		storeModule(cfg),
		notifierModule(cfg, logger),
		system.Module,
		applicationModule(cfg),
		httpapi.Module,
	)
}

// storeModule is the repositories' store that cfg names: an SQLite file
// or PostgreSQL. Both provide the same ports and a *sqlstore.HealthChecker.
func storeModule(cfg Config) fx.Option {
	if cfg.UsesSQLite() {
		return fx.Options(
			fx.Supply(sqlite.Config{Path: cfg.SQLitePath, MigrateOnStart: true}),
			sqlite.Module,
		)
	}
	return fx.Options(
		fx.Supply(postgres.Config{
			DSN: cfg.DatabaseURL,
			Pool: postgres.PoolConfig{
				MaxOpenConns: cfg.DBMaxOpenConns,
				Dial:         postgres.DialConfig{ConnectTimeout: cfg.DBConnectTimeout},
			},
			MigrateOnStart: true,
		}),
		postgres.Module,
	)
}

// notifierModule is the ports.Notifier that cfg.Notifier selects.
func notifierModule(cfg Config, logger *slog.Logger) fx.Option {
	switch cfg.Notifier {
	case NotifierRedis:
		return fx.Options(
			fx.Supply(
				redis.Options{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, ClientName: cfg.RedisClientName, Logger: logger},
				cluster.Settings{HeadInterval: cfg.HeadInterval},
			),
			redis.Module,
		)
	case NotifierPostgres:
		return fx.Options(
			fx.Supply(pgnotify.Options{ConnectTimeout: cfg.DBConnectTimeout, Logger: logger}, cluster.Settings{HeadInterval: cfg.HeadInterval}),
			pgnotify.Module,
		)
	default:
		return memory.Module
	}
}

// applicationModule provides every use case; application itself stays
// free of fx.
func applicationModule(cfg Config) fx.Option {
	return fx.Module("application",
		fx.Supply(application.GroupLimits{MaxMembers: cfg.MaxGroupMembers}),
		fx.Provide(
			application.NewSendMessage,
			application.NewListMessages,
			application.NewCreateDirectMessage,
			application.NewCreateGroup,
			application.NewAddMember,
			application.NewRemoveMember,
			application.NewListConversations,
			application.NewMarkRead,
			func(convs ports.ConversationRepository, msgs ports.MessageRepository, n ports.Notifier, logger *slog.Logger,
				metrics *httpapi.Metrics) *application.SubscribeChannel {
				return application.NewSubscribeChannel(convs, msgs, n, cfg.Heartbeat, logger,
					application.WithStreamObserver(metrics), application.WithWriteDelay(cfg.SSEWriteDelay))
			},
			func(convs ports.ConversationRepository, msgs ports.MessageRepository, n ports.Notifier, logger *slog.Logger,
				metrics *httpapi.Metrics) *application.SubscribeInbox {
				return application.NewSubscribeInbox(convs, msgs, n, cfg.Heartbeat, logger,
					application.WithStreamObserver(metrics), application.WithWriteDelay(cfg.SSEWriteDelay))
			},
		),
	)
}

// newRegistry is the service's own Prometheus registry (no global state),
// with the Go runtime and process collectors.
func newRegistry() (*prometheus.Registry, prometheus.Registerer, prometheus.Gatherer) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, reg, reg
}

// readinessCheck provides a /readyz check named name from a dependency.
func readinessCheck[T any](name string, check func(T) func(context.Context) error) any {
	return fx.Annotate(
		func(dep T) httpapi.ReadinessCheck { return httpapi.ReadinessCheck{Name: name, Check: check(dep)} },
		fx.ResultTags(`group:"readiness"`),
	)
}

// NewLogger returns the service's logger: JSON (or text) on w at
// cfg.LogLevel.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
