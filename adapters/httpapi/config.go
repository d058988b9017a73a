package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymsg/relay/application"
)

// Defaults of Config's zero fields.
const (
	DefaultRetryInterval    = 2 * time.Second
	DefaultMaxBodyBytes     = 256 << 10
	DefaultWriteTimeout     = 10 * time.Second
	DefaultReadinessTimeout = 2 * time.Second
	DefaultRequestTimeout   = 10 * time.Second
)

// Config holds the HTTP adapter's settings. Zero durations and sizes take
// their defaults.
type Config struct {
	// AuthSecret is the HS256 key of the bearer tokens. Required.
	AuthSecret []byte
	// Heartbeat is the SSE heartbeat interval. The handler does not use it:
	// streams get it from application.NewSubscribeChannel, which the wiring
	// constructs; it lives here so that one Config carries the HTTP
	// settings.
	Heartbeat time.Duration
	// RetryInterval is the reconnection delay sent to SSE clients as
	// `retry:` (DefaultRetryInterval).
	RetryInterval time.Duration
	// MaxBodyBytes bounds request bodies; larger ones are 413
	// (DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// WriteTimeout is the deadline of each SSE write. The server has no
	// global write timeout, which would cut every stream off; a client that
	// stops reading is instead dropped when one write cannot finish in time
	// (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// ReadinessTimeout bounds the readiness checks of one /readyz request
	// (DefaultReadinessTimeout).
	ReadinessTimeout time.Duration
	// RequestTimeout bounds what the use cases of one request may take
	// (the store above all): past it the request is 503 with Retry-After.
	// A stream is bounded by it only while it starts; past it the client
	// is told to retry (DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Limits bound what one caller may take of this instance.
	Limits Limits
	// DevTokens adds POST /dev/token, which hands a user token to anyone
	// who asks: development mode only (RELAY_DEV).
	DevTokens bool
}

func (c Config) withDefaults() Config {
	if c.Heartbeat <= 0 {
		c.Heartbeat = application.DefaultHeartbeat
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ReadinessTimeout <= 0 {
		c.ReadinessTimeout = DefaultReadinessTimeout
	}
	c.Limits = c.Limits.withDefaults()
	return c
}

// UseCases are the application use cases the handler drives. Every field
// is required.
type UseCases struct {
	// One field per use case, named after it.
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
}

func (uc UseCases) validate() error {
	if uc.SendMessage == nil || uc.ListMessages == nil || uc.CreateDirectMessage == nil ||
		uc.CreateGroup == nil || uc.AddMember == nil || uc.RemoveMember == nil ||
		uc.ListConversations == nil || uc.MarkRead == nil || uc.SubscribeChannel == nil ||
		uc.SubscribeInbox == nil {
		return errors.New("httpapi: every use case is required")
	}
	return nil
}

// ReadinessCheck is one dependency /readyz asks: Check returns nil when the
// dependency can serve now. Check must honour its context's deadline. Name
// is the only thing about a failure that /readyz reveals.
type ReadinessCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are the handler's collaborators other than the use cases. Every
// field is optional.
type Deps struct {
	// Logger receives access logs and errors (discarded when nil).
	Logger *slog.Logger
	// Metrics records the service's metrics (unregistered ones when nil).
	Metrics *Metrics
	// Gatherer serves /metrics; without it /metrics is not routed.
	Gatherer prometheus.Gatherer
	// Readiness lists what /readyz checks.
	Readiness []ReadinessCheck
	// Now is the clock that validates token expiry and refills the rate
	// limits' buckets (time.Now when nil). Open streams end at a token's
	// exp by the real clock regardless.
	Now func() time.Time
}
