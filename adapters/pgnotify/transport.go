package pgnotify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/domain"
)

// Transport is a cluster.Transport over PostgreSQL LISTEN/NOTIFY. Create it
// with NewTransport; the cluster.Notifier it is given to starts and closes
// it. The pool is the caller's: Close leaves it open.
type Transport struct {
	db            *sqlx.DB
	dsn           string // with the application name
	dial          *postgres.Dialer
	channel       string
	storeNotifies bool
	logger        *slog.Logger

	publishTimeout time.Duration
	pingTimeout    time.Duration
	healthInterval time.Duration
	minReconnect   time.Duration
	maxReconnect   time.Duration

	mu        sync.Mutex
	watched   map[string]struct{}           // by ch.String(), as envelopes name channels
	fresh     map[domain.ChannelID]struct{} // watched while listening, not yet reported
	conn      connState
	started   bool
	closed    bool
	listener  *pq.Listener
	dialer    *dialer
	cancel    context.CancelFunc
	loops     sync.WaitGroup
	resyncAll chan struct{} // capacity 1: report Reconnected
	lost      chan struct{} // capacity 1: report Lost
	newWatch  chan struct{} // capacity 1: fresh is not empty
}

var _ cluster.Transport = (*Transport)(nil)

// NewTransport returns a Transport that LISTENs over a connection of its
// own to opts.DSN and sends with pg_notify on db. It does not connect:
// Start does.
func NewTransport(db *sqlx.DB, opts Options) (*Transport, error) {
	if db == nil {
		return nil, errors.New("postgres transport: no pool")
	}
	if opts.DSN == "" {
		return nil, errors.New("postgres transport: no DSN")
	}
	// PostgreSQL keeps identifiers of up to 63 bytes: LISTEN would
	// truncate a longer name, which pg_notify refuses.
	if ch := opts.channel(); len(ch) > maxChannelName {
		return nil, fmt.Errorf("postgres transport: channel %q: longer than %d bytes", ch, maxChannelName)
	}
	connectTimeout := orDefault(opts.ConnectTimeout, DefaultConnectTimeout)
	dsn, err := listenerDSN(opts.DSN, cmp.Or(opts.ApplicationName, DefaultApplicationName), connectTimeout)
	if err != nil {
		return nil, fmt.Errorf("postgres transport: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Transport{
		db:             db,
		dsn:            dsn,
		dial:           postgres.NewDialer(postgres.DialConfig{ConnectTimeout: connectTimeout}),
		channel:        opts.channel(),
		storeNotifies:  opts.StoreNotifies,
		publishTimeout: orDefault(opts.PublishTimeout, DefaultPublishTimeout),
		pingTimeout:    orDefault(opts.PingTimeout, DefaultPingTimeout),
		healthInterval: orDefault(opts.HealthInterval, DefaultHealthInterval),
		minReconnect:   orDefault(opts.MinReconnect, DefaultMinReconnect),
		maxReconnect:   max(orDefault(opts.MaxReconnect, DefaultMaxReconnect), orDefault(opts.MinReconnect, DefaultMinReconnect)),
		logger:         logger,
		watched:        make(map[string]struct{}),
		fresh:          make(map[domain.ChannelID]struct{}),
		resyncAll:      make(chan struct{}, 1),
		lost:           make(chan struct{}, 1),
		newWatch:       make(chan struct{}, 1),
	}, nil
}

// Start opens the listener, which connects and LISTENs in the background,
// and starts the goroutines that read it and check it. It does not wait for
// the connection: Ping fails until it is up and listening.
func (t *Transport) Start(_ context.Context, h cluster.Handler) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return errors.New("postgres transport: closed")
	case t.started:
		return errors.New("postgres transport: already started")
	}
	t.started = true
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.dialer = newDialer(ctx, t.dial)
	// lib/pq starts the listener's goroutine here; Close stops it, and the
	// receive loop waits for it by reading its channel until it closes.
	l := pq.NewDialListener(t.dialer, t.dsn, t.minReconnect, t.maxReconnect, t.onEvent)
	t.listener = l
	t.loops.Go(func() { t.receiveLoop(ctx, h, l.NotificationChannel()) })
	t.loops.Go(func() { t.listenLoop(ctx, l) })
	t.loops.Go(func() { t.healthLoop(ctx, l, t.dialer) })
	return nil
}

// Publish sends payload with pg_notify within PublishTimeout. With
// StoreNotifies, a message needs nothing: its NOTIFY went out when it was
// stored.
func (t *Transport) Publish(ctx context.Context, ev domain.Event, payload []byte) error {
	if t.storeNotifies && ev.Kind == domain.EventMessage {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, t.publishTimeout)
	defer cancel()
	if _, err := t.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, t.channel, string(payload)); err != nil {
		return fmt.Errorf("postgres notify: %w", err)
	}
	return nil
}

// MaxPayload returns NotifyMaxPayload, PostgreSQL's limit on a NOTIFY
// payload less a margin.
func (t *Transport) MaxPayload() int { return NotifyMaxPayload }

// Watch lets ch's events through to the Handler. While LISTEN is active it
// also has ch reported received, by the receive loop: events of ch
// committed from now on arrive.
func (t *Transport) Watch(ch domain.ChannelID) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.watched[ch.String()] = struct{}{}
	// Otherwise the Reconnected that follows LISTEN covers ch.
	report := t.conn.ready()
	if report {
		t.fresh[ch] = struct{}{}
	}
	t.mu.Unlock()
	if report {
		signal(t.newWatch)
	}
}

// Unwatch stops ch's events at this instance.
func (t *Transport) Unwatch(ch domain.ChannelID) {
	t.mu.Lock()
	delete(t.watched, ch.String())
	delete(t.fresh, ch)
	t.mu.Unlock()
}

// Close stops the loops and the listener, and waits for them. lib/pq's
// listener sleeps between reconnect attempts and cannot be woken, so while
// the server is unreachable Close may take up to MaxReconnect. It is safe
// to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	l, d, cancel := t.listener, t.dialer, t.cancel
	t.mu.Unlock()
	if l == nil {
		return nil // never started
	}
	cancel()
	// A LISTEN or ping waiting on a dead connection holds the lock that
	// the listener's Close needs; closing the socket ends the wait. The
	// canceled dialer keeps lib/pq from opening another.
	d.closeAll()
	err := l.Close()
	t.loops.Wait()
	if err != nil {
		return fmt.Errorf("postgres transport: close listener: %w", err)
	}
	return nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
