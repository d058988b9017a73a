package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// Defaults applied to the zero fields of Options.
const (
	// DefaultMaxPending bounds the events kept for re-publishing.
	DefaultMaxPending = 10_000
	// DefaultRetryInterval is the pause between re-publish attempts while
	// the transport fails.
	DefaultRetryInterval = time.Second
)

// errClosed is returned by Start after Close.
var errClosed = fmt.Errorf("cluster notifier: %w: %w", domain.ErrUnavailable, ports.ErrNotifierClosed)

// Options configures a Notifier. Zero fields select the defaults.
type Options struct {
	// Hub configures the local hub. Its OnWatch, if set, is called too,
	// before the transport hears of the change.
	Hub memory.Options
	// InstanceID identifies this instance in the envelopes it publishes,
	// so that it can skip its own when they come back. Empty selects a
	// random id; set it only to share it with a transport that publishes
	// on the Notifier's behalf (a NOTIFY in the store's transaction).
	InstanceID string
	// MaxPending bounds the events kept for re-publishing while the
	// transport fails (per channel the latest message, plus member
	// removals); past it the oldest is dropped. Each holds a message of up
	// to 16 KB, so the default bounds memory at about 160 MB in the worst
	// case and a few MB in the usual one. Zero or less selects
	// DefaultMaxPending.
	MaxPending int
	// RetryInterval is the pause between re-publish attempts while the
	// transport fails. Zero or less selects DefaultRetryInterval.
	RetryInterval time.Duration
	// Store, when set, is read every HeadInterval for the heads of the
	// watched channels, which are handed to the local subscribers: a
	// stream behind a head catches up from the store. Without it a
	// notification lost for good is only noticed when the channel's next
	// one arrives.
	Store Store
	// HeadInterval is the period of the head check. Zero or less selects
	// DefaultHeadInterval.
	HeadInterval time.Duration
	// Logger receives the notifier's logs. Nil selects slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the notifier's metrics.
	Registerer prometheus.Registerer
}

// Notifier is a ports.Notifier across instances: a local hub plus a
// Transport. Create it with NewNotifier, call Start to begin receiving
// from other instances, and Close to stop. All methods are safe for
// concurrent use.
type Notifier struct {
	hub        *memory.Notifier
	transport  Transport
	id         string
	maxPayload int
	store      Store
	heads      time.Duration
	logger     *slog.Logger
	metrics    *metrics

	// watched holds the channels with local subscribers; true marks those
	// the transport may miss events of: a new channel until the transport
	// confirms its subscription, every channel from a Lost until it
	// confirms them again.
	watchMu sync.RWMutex
	watched map[domain.ChannelID]bool

	// queue keeps what the transport failed to publish, for re-publishing.
	queue *republisher

	lifeMu  sync.Mutex // serializes Start and Close
	started bool
	closed  bool
	cancel  context.CancelFunc
	loops   sync.WaitGroup
	stopErr error

	lastRejectLog atomic.Int64 // unix nanoseconds
}

var _ ports.Notifier = (*Notifier)(nil)

// NewNotifier returns a Notifier over transport. It starts nothing; Start
// does.
func NewNotifier(transport Transport, opts Options) (*Notifier, error) {
	if transport == nil {
		return nil, errors.New("cluster notifier: no transport")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("cluster notifier: %w", err)
	}
	id := opts.InstanceID
	if id == "" {
		id = strings.ToLower(rand.Text()[:16]) // 80 random bits
	}
	maxPending := opts.MaxPending
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	retry := opts.RetryInterval
	if retry <= 0 {
		retry = DefaultRetryInterval
	}
	if opts.HeadInterval <= 0 {
		opts.HeadInterval = DefaultHeadInterval
	}
	n := &Notifier{
		transport:  transport,
		id:         id,
		maxPayload: transport.MaxPayload(),
		store:      opts.Store,
		heads:      opts.HeadInterval,
		logger:     logger,
		metrics:    m,
		watched:    make(map[domain.ChannelID]bool),
		queue:      newRepublisher(transport, id, maxPending, retry, logger, m),
	}
	hubOpts := opts.Hub
	if hubOpts.Logger == nil {
		hubOpts.Logger = logger
	}
	userHook := hubOpts.OnWatch
	hubOpts.OnWatch = func(ch domain.ChannelID, watched bool) {
		if userHook != nil {
			userHook(ch, watched)
		}
		n.onWatch(ch, watched)
	}
	n.hub = memory.NewNotifier(hubOpts)
	return n, nil
}

// InstanceID returns the id this instance's envelopes carry.
func (n *Notifier) InstanceID() string { return n.id }

// Start starts the transport and the loop that re-publishes what the
// transport failed to carry. ctx bounds only the start.
func (n *Notifier) Start(ctx context.Context) error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	switch {
	case n.closed:
		return errClosed
	case n.started:
		return errors.New("cluster notifier: already started")
	}
	if err := n.transport.Start(ctx, inbound{n}); err != nil {
		return fmt.Errorf("cluster notifier: start transport: %w", err)
	}
	n.started = true
	loopCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.loops.Go(func() { n.queue.run(loopCtx) })
	if n.store != nil {
		n.loops.Go(func() { n.headLoop(loopCtx, n.heads) })
	}
	n.queue.signal() // events may have been queued before Start
	return nil
}

// Publish delivers ev to this instance's subscribers, then publishes it to
// the other instances. If the transport fails, the local subscribers have
// still been served, the event is kept and re-published once the transport
// works again, and the error wraps domain.ErrUnavailable. It never blocks
// on a slow subscriber; it waits for the transport at most its timeout,
// and not at all while earlier events are still waiting to be re-published.
func (n *Notifier) Publish(ctx context.Context, ev domain.Event) error {
	if err := n.hub.Publish(ctx, n.localEvent(ev)); err != nil {
		return fmt.Errorf("cluster notifier: %w", err)
	}
	// Publish comes right after the commit: receivers measure from here.
	sent := time.Now()
	payload, err := wire.EncodeLimited(ev, n.id, n.maxPayload, sent)
	if err != nil {
		// Retrying would not help: the event itself is at fault.
		return fmt.Errorf("cluster notifier: %w: %w", domain.ErrInvalid, err)
	}
	if n.queue.queueIfDegraded(ctx, ev, sent) {
		return fmt.Errorf("cluster notifier: publish to %s: %w: queued behind earlier events", ev.Channel, domain.ErrUnavailable)
	}
	if err := n.transport.Publish(ctx, ev, payload); err != nil {
		n.queue.enqueue(ctx, ev, sent)
		return fmt.Errorf("cluster notifier: publish to %s: %w: %w", ev.Channel, domain.ErrUnavailable, err)
	}
	return nil
}

// Subscribe registers a local subscription to channels. It does not wait
// for the transport to receive them: when it does, the transport's
// confirmation resyncs the new subscriber, which covers anything published
// elsewhere in between.
func (n *Notifier) Subscribe(ctx context.Context, channels []domain.ChannelID) (ports.Subscription, error) {
	sub, err := n.hub.Subscribe(ctx, channels)
	if err != nil {
		return nil, fmt.Errorf("cluster notifier: %w", err)
	}
	return sub, nil
}

// Ping reports whether events reach other instances and arrive from them
// now: it fails, wrapping domain.ErrUnavailable, while the transport is
// down.
func (n *Notifier) Ping(ctx context.Context) error {
	if err := n.hub.Ping(ctx); err != nil {
		return fmt.Errorf("cluster notifier: %w", err)
	}
	if err := n.transport.Ping(ctx); err != nil {
		return fmt.Errorf("cluster notifier: %w: %w", domain.ErrUnavailable, err)
	}
	return nil
}

// Close stops the re-publish loop, closes the transport and then the hub,
// which ends every subscription with ports.ErrNotifierClosed. Events still
// waiting to be re-published are dropped: the store has them, and the
// other instances' head checks find them. It waits for
// every goroutine the notifier started and is safe to call more than once.
func (n *Notifier) Close() error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.closed {
		return n.stopErr
	}
	n.closed = true
	if n.cancel != nil {
		n.cancel()
	}
	n.loops.Wait()
	if err := n.transport.Close(); err != nil {
		n.stopErr = fmt.Errorf("cluster notifier: close transport: %w", err)
	}
	n.hub.Close()
	return n.stopErr
}
