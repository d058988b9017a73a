package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/domain"
)

// Defaults applied to the zero fields of Options.
const (
	DefaultPrefix         = "relay:"
	DefaultPublishTimeout = 500 * time.Millisecond
	DefaultPingTimeout    = time.Second
	DefaultHealthInterval = 5 * time.Second
)

// Options configures a Transport. Zero fields select the defaults.
type Options struct {
	// URL locates the server: redis://[user:password@]host:port/db, or
	// rediss:// for TLS, with go-redis's query options.
	URL string
	// Prefix starts every Redis channel name, so that several deployments
	// can share a server. Empty selects DefaultPrefix.
	Prefix string
	// ClientName, when set, names the transport's connections (CLIENT
	// SETNAME), so that an operator can tell them apart in CLIENT LIST.
	ClientName string
	// PublishTimeout bounds one PUBLISH, including go-redis's retries.
	PublishTimeout time.Duration
	// PingTimeout bounds a PING, on either connection, and each attempt
	// to (re)subscribe.
	PingTimeout time.Duration
	// HealthInterval is how long the subscriber connection may stay silent
	// before a PING checks that it is still alive.
	HealthInterval time.Duration
	// Logger receives the transport's logs. Nil selects slog.Default().
	Logger *slog.Logger
}

// State of the subscriber connection.
const (
	stateConnecting int32 = iota // not yet connected since Start
	stateUp
	stateDown
)

// Transport is a cluster.Transport over Redis pub/sub. Create it with
// NewTransport; the cluster.Notifier it is given to starts and closes it.
type Transport struct {
	client         *goredis.Client
	channelPrefix  string
	publishTimeout time.Duration
	pingTimeout    time.Duration
	healthInterval time.Duration
	logger         *slog.Logger

	mu      sync.Mutex
	changes map[domain.ChannelID]bool // Watch (true) and Unwatch (false) not yet applied; the last call wins
	started bool
	closed  bool
	pubsub  *goredis.PubSub
	cancel  context.CancelFunc
	wake    chan struct{} // capacity 1: changes are waiting
	loops   sync.WaitGroup

	state     atomic.Int32
	errMu     sync.Mutex
	lastErr   error
	downSince time.Time
}

var _ cluster.Transport = (*Transport)(nil)

// NewTransport returns a Transport for the server at opts.URL. It does not
// connect: Start does.
func NewTransport(opts Options) (*Transport, error) {
	if opts.URL == "" {
		return nil, errors.New("redis transport: no URL")
	}
	ro, err := goredis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("redis transport: %w", err)
	}
	if opts.ClientName != "" {
		ro.ClientName = opts.ClientName
	}
	// Without it go-redis ignores the context's deadline on socket reads
	// and writes and waits for its own ReadTimeout and WriteTimeout (3 s
	// each): a PUBLISH to a server that stopped answering would outlast
	// PublishTimeout, and every request behind it would wait too. Every
	// call below passes a context with a deadline; the subscriber
	// connection's PubSub is made by this client, so it shares the option.
	ro.ContextTimeoutEnabled = true
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Transport{
		client:         goredis.NewClient(ro),
		channelPrefix:  prefix + "ch:",
		publishTimeout: orDefault(opts.PublishTimeout, DefaultPublishTimeout),
		pingTimeout:    orDefault(opts.PingTimeout, DefaultPingTimeout),
		healthInterval: orDefault(opts.HealthInterval, DefaultHealthInterval),
		logger:         logger,
		changes:        make(map[domain.ChannelID]bool),
		wake:           make(chan struct{}, 1),
	}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// RedisChannel returns the Redis channel that carries ch.
func (t *Transport) RedisChannel(ch domain.ChannelID) string { return t.channelPrefix + ch.String() }

// channelOf is the inverse of RedisChannel.
func (t *Transport) channelOf(name string) (domain.ChannelID, bool) {
	s, ok := strings.CutPrefix(name, t.channelPrefix)
	if !ok {
		return domain.ChannelID{}, false
	}
	ch, err := domain.ParseChannelID(s)
	return ch, err == nil
}

// Start starts the goroutines that keep the subscriber connection's
// subscriptions in line with Watch and Unwatch and that read it. It does
// not wait for the connection: Ping fails until it is up.
func (t *Transport) Start(_ context.Context, h cluster.Handler) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return errors.New("redis transport: closed")
	case t.started:
		return errors.New("redis transport: already started")
	}
	t.started = true
	// Without channels, Subscribe only creates the PubSub; the receive
	// loop's first PING connects it.
	t.pubsub = t.client.Subscribe(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.loops.Go(func() { t.receiveLoop(ctx, h) })
	t.loops.Go(func() { t.syncLoop(ctx) })
	return nil
}

// Publish publishes payload on ev's Redis channel, within PublishTimeout.
func (t *Transport) Publish(ctx context.Context, ev domain.Event, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, t.publishTimeout)
	defer cancel()
	if err := t.client.Publish(ctx, t.RedisChannel(ev.Channel), payload).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// MaxPayload returns 0: a Redis message may be far larger than any
// envelope.
func (t *Transport) MaxPayload() int { return 0 }

// Watch asks for ch's messages. It only records the wish; the sync loop
// subscribes.
func (t *Transport) Watch(ch domain.ChannelID) { t.change(ch, true) }

// Unwatch stops ch's messages. It only records the wish; the sync loop
// unsubscribes.
func (t *Transport) Unwatch(ch domain.ChannelID) { t.change(ch, false) }

func (t *Transport) change(ch domain.ChannelID, watch bool) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.changes[ch] = watch
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Ping fails while the subscriber connection is not up, or if the server
// does not answer a PING within PingTimeout.
func (t *Transport) Ping(ctx context.Context) error {
	switch t.state.Load() {
	case stateConnecting:
		return errors.New("redis subscriber connection: not connected yet")
	case stateDown:
		t.errMu.Lock()
		err, since := t.lastErr, t.downSince
		t.errMu.Unlock()
		return fmt.Errorf("redis subscriber connection down for %v: %w", time.Since(since).Round(time.Millisecond), err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.pingTimeout)
	defer cancel()
	if err := t.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close stops the loops, waits for them and closes the connections. It is
// safe to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	pubsub, cancel := t.pubsub, t.cancel
	t.mu.Unlock()

	var errs []error
	if cancel != nil {
		cancel()
		// Closing the connection is what ends a receive in progress.
		if err := pubsub.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close subscriber connection: %w", err))
		}
	}
	t.loops.Wait()
	if err := t.client.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close client: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redis transport: %w", err)
	}
	return nil
}
