package clustertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/notifiertest"
)

// NewTransport returns a new, unstarted transport. Transports made with the
// same namespace must reach each other and those of different namespaces
// must not (a Redis channel prefix, a PostgreSQL channel name). The
// notifier that gets the transport starts and closes it.
type NewTransport func(t *testing.T, namespace string) cluster.Transport

// Run runs the checks against transports made by newTransport. Like
// notifiertest.Run, call it from a test that is not parallel.
func Run(t *testing.T, newTransport NewTransport) {
	t.Helper()
	t.Run("OneInstance", func(t *testing.T) {
		notifiertest.Run(t, func(t *testing.T, cfg notifiertest.Config) ports.Notifier {
			n, _ := NewInstance(t, newTransport(t, Namespace()), cfg.QueueSize)
			return single{n}
		})
	})
	t.Run("TwoInstances", func(t *testing.T) {
		notifiertest.Run(t, func(t *testing.T, cfg notifiertest.Config) ports.Notifier {
			ns := Namespace()
			pub, _ := NewInstance(t, newTransport(t, ns), cfg.QueueSize)
			sub, watcher := NewInstance(t, newTransport(t, ns), cfg.QueueSize)
			return &pair{pub: pub, sub: sub, watcher: watcher}
		})
	})
	t.Run("ResyncOnSubscribe", func(t *testing.T) { testResyncOnSubscribe(t, newTransport) })
	t.Run("ResyncOnAdd", func(t *testing.T) { testResyncOnAdd(t, newTransport) })
	t.Run("NoEcho", func(t *testing.T) { testNoEcho(t, newTransport) })
}

// Namespace returns a namespace no other test uses.
func Namespace() string { return "t" + strings.ToLower(rand.Text()[:10]) }

// NewInstance returns a started notifier over transport, with queues of
// queueSize, that t's cleanup closes, once its Ping succeeds; and the
// Watcher that tells when its transport receives a channel.
func NewInstance(t *testing.T, transport cluster.Transport, queueSize int) (*cluster.Notifier, *Watcher) {
	t.Helper()
	w := &Watcher{Transport: transport, receiving: make(map[domain.ChannelID]chan struct{})}
	n, err := cluster.NewNotifier(w, cluster.Options{
		Hub:           memory.Options{QueueSize: queueSize},
		RetryInterval: 20 * time.Millisecond,
		Logger:        logger(t),
	})
	if err != nil {
		t.Fatalf("NewNotifier: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := n.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := Eventually(t.Context(), func(ctx context.Context) error { return n.Ping(ctx) }); err != nil {
		t.Fatalf("notifier not ready: %v", err)
	}
	return n, w
}

// Await fails t unless check returns nil within notifiertest.Timeout
// (see Eventually); what names the awaited condition in the failure.
func Await(t testing.TB, what string, check func(context.Context) error) {
	t.Helper()
	if err := Eventually(t.Context(), check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eventually calls check until it returns nil, and returns its last error
// if it has not by notifiertest.Timeout.
func Eventually(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, notifiertest.Timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %v: %w", notifiertest.Timeout, err)
		case <-tick.C:
		}
	}
}

// single is one instance whose Subscribe waits until the transport
// receives the channels: until then local messages reach subscribers as
// resyncs (a removal published elsewhere could be missed), and the
// contract suite, which has no store, expects the messages themselves.
type single struct{ *cluster.Notifier }

func (s single) Subscribe(ctx context.Context, channels []domain.ChannelID) (ports.Subscription, error) {
	sub, err := s.Notifier.Subscribe(ctx, channels)
	if err != nil {
		return nil, err
	}
	if err := s.wait(ctx, channels); err != nil {
		sub.Close()
		return nil, err
	}
	return waitingSub{Subscription: sub, wait: s.wait}, nil
}

func (s single) wait(ctx context.Context, channels []domain.ChannelID) error {
	return Eventually(ctx, func(context.Context) error {
		for _, ch := range channels {
			if !s.Receiving(ch) {
				return fmt.Errorf("transport not receiving %s", ch)
			}
		}
		return nil
	})
}

// waitingSub is a subscription of single or pair whose Subscribe, like
// theirs, waits until the transport receives the added channels.
type waitingSub struct {
	ports.Subscription
	wait func(ctx context.Context, channels []domain.ChannelID) error
}

func (s waitingSub) Subscribe(channels ...domain.ChannelID) error {
	if err := s.Subscription.Subscribe(channels...); err != nil {
		return err
	}
	// The suite's own deadline: Subscription.Subscribe has no context.
	return s.wait(context.Background(), channels)
}

// pair is one notifier made of two instances: events are published on pub
// and received on sub, so everything crosses the transport.
type pair struct {
	pub, sub *cluster.Notifier
	watcher  *Watcher
}

func (p *pair) Publish(ctx context.Context, ev domain.Event) error { return p.pub.Publish(ctx, ev) }

// Subscribe subscribes on sub and waits until sub's transport receives the
// channels. A real client need not wait: the transport's confirmation
// resyncs it from the store. The contract suite has no store, and expects
// every event published after Subscribe returns.
func (p *pair) Subscribe(ctx context.Context, channels []domain.ChannelID) (ports.Subscription, error) {
	sub, err := p.sub.Subscribe(ctx, channels)
	if err != nil {
		return nil, err
	}
	if err := p.wait(ctx, channels); err != nil {
		sub.Close()
		return nil, err
	}
	return waitingSub{Subscription: sub, wait: p.wait}, nil
}

func (p *pair) wait(ctx context.Context, channels []domain.ChannelID) error {
	for _, ch := range channels {
		if err := p.watcher.WaitReceiving(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

func (p *pair) Ping(ctx context.Context) error {
	return errors.Join(p.pub.Ping(ctx), p.sub.Ping(ctx))
}

// Watcher wraps a transport to tell when it receives a channel: after
// Watch, once the transport has reported Subscribed (or Reconnected).
type Watcher struct {
	cluster.Transport
	mu sync.Mutex
	// receiving has a channel per watched channel, closed once the
	// transport receives it.
	receiving map[domain.ChannelID]chan struct{}
}

// Start starts the transport with a handler that notes confirmations.
func (w *Watcher) Start(ctx context.Context, h cluster.Handler) error {
	return w.Transport.Start(ctx, &watchingHandler{Handler: h, w: w})
}

// Watch notes that ch awaits its confirmation, then watches it.
func (w *Watcher) Watch(ch domain.ChannelID) {
	w.mu.Lock()
	w.receiving[ch] = make(chan struct{})
	w.mu.Unlock()
	w.Transport.Watch(ch)
}

// Unwatch forgets ch, then unwatches it.
func (w *Watcher) Unwatch(ch domain.ChannelID) {
	w.mu.Lock()
	delete(w.receiving, ch)
	w.mu.Unlock()
	w.Transport.Unwatch(ch)
}

// WaitReceiving waits until the transport receives ch, if ch is watched.
// It assumes ch was not unwatched and watched again while a confirmation
// was on its way.
func (w *Watcher) WaitReceiving(ctx context.Context, ch domain.ChannelID) error {
	w.mu.Lock()
	done, ok := w.receiving[ch]
	w.mu.Unlock()
	if !ok {
		return nil
	}
	timer := time.NewTimer(notifiertest.Timeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("transport not receiving %s within %v", ch, notifiertest.Timeout)
	}
}

func (w *Watcher) confirm(ch domain.ChannelID, all bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for watched, done := range w.receiving {
		if !all && watched != ch {
			continue
		}
		select {
		case <-done:
		default:
			close(done)
		}
	}
}

type watchingHandler struct {
	cluster.Handler
	w *Watcher
}

func (h *watchingHandler) Subscribed(ch domain.ChannelID) {
	h.w.confirm(ch, false)
	h.Handler.Subscribed(ch)
}

func (h *watchingHandler) Reconnected() {
	h.w.confirm(domain.ChannelID{}, true)
	h.Handler.Reconnected()
}
