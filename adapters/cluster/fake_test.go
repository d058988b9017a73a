package cluster_test

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/domain"
)

var errDown = errors.New("fake transport down")

// bus connects fake transports, as one Redis server connects instances. It
// can be taken down: publishing and pinging then fail.
type bus struct {
	mu      sync.Mutex
	down    bool
	members []*fakeTransport
}

func (b *bus) setDown(down bool) {
	b.mu.Lock()
	b.down = down
	b.mu.Unlock()
}

// newTransport returns a transport on b that carries payloads of at most
// maxPayload bytes (0: any).
func (b *bus) newTransport(maxPayload int) *fakeTransport {
	t := &fakeTransport{bus: b, maxPayload: maxPayload, watching: make(map[domain.ChannelID]bool),
		wake: make(chan struct{}, 1), stop: make(chan struct{})}
	b.mu.Lock()
	b.members = append(b.members, t)
	b.mu.Unlock()
	return t
}

// item is something a fake transport hands to its handler.
type item struct {
	payload     []byte
	subscribed  domain.ChannelID
	reconnected bool
	lost        bool
}

// fakeTransport is an in-process cluster.Transport. Like a real one it
// delivers from its own goroutine, in order, and confirms each Watch
// asynchronously.
type fakeTransport struct {
	bus        *bus
	maxPayload int

	mu        sync.Mutex
	h         cluster.Handler
	queue     []item
	watching  map[domain.ChannelID]bool
	calls     []string // "+ch" for Watch, "-ch" for Unwatch, in order
	attempts  int      // Publish calls
	published []domain.Event
	closed    bool
	// holdConfirms makes Watch confirm nothing: the test confirms with
	// confirm, as a SUBSCRIBE or LISTEN still in flight would later.
	holdConfirms bool

	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

var _ cluster.Transport = (*fakeTransport)(nil)

func (t *fakeTransport) Start(_ context.Context, h cluster.Handler) error {
	t.mu.Lock()
	t.h = h
	t.mu.Unlock()
	t.wg.Go(t.run)
	return nil
}

func (t *fakeTransport) run() {
	for {
		select {
		case <-t.stop:
			return
		case <-t.wake:
		}
		t.mu.Lock()
		items := t.queue
		t.queue = nil
		t.mu.Unlock()
		for _, it := range items {
			switch {
			case it.payload != nil:
				t.h.Deliver(it.payload)
			case it.reconnected:
				t.h.Reconnected()
			case it.lost:
				t.h.Lost()
			default:
				t.h.Subscribed(it.subscribed)
			}
		}
	}
}

// enqueueLocked queues it for the handler; t.mu is held.
func (t *fakeTransport) enqueueLocked(it item) {
	if t.closed {
		return
	}
	t.queue = append(t.queue, it)
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *fakeTransport) Publish(_ context.Context, ev domain.Event, payload []byte) error {
	t.mu.Lock()
	t.attempts++
	t.mu.Unlock()
	t.bus.mu.Lock()
	defer t.bus.mu.Unlock()
	if t.bus.down {
		return errDown
	}
	t.mu.Lock()
	t.published = append(t.published, ev)
	t.mu.Unlock()
	for _, m := range t.bus.members {
		m.mu.Lock()
		if m.watching[ev.Channel] {
			m.enqueueLocked(item{payload: slices.Clone(payload)})
		}
		m.mu.Unlock()
	}
	return nil
}

func (t *fakeTransport) MaxPayload() int { return t.maxPayload }

func (t *fakeTransport) Watch(ch domain.ChannelID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.watching[ch] = true
	t.calls = append(t.calls, "+"+ch.String())
	if !t.holdConfirms {
		t.enqueueLocked(item{subscribed: ch})
	}
}

func (t *fakeTransport) Unwatch(ch domain.ChannelID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	delete(t.watching, ch)
	t.calls = append(t.calls, "-"+ch.String())
}

func (t *fakeTransport) Ping(context.Context) error {
	t.bus.mu.Lock()
	defer t.bus.mu.Unlock()
	if t.bus.down {
		return errDown
	}
	return nil
}

func (t *fakeTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	close(t.stop)
	t.wg.Wait()
	return nil
}

// inject hands payload to the handler as if it had arrived.
func (t *fakeTransport) inject(payload []byte) {
	t.mu.Lock()
	t.enqueueLocked(item{payload: payload})
	t.mu.Unlock()
}

// confirm reports ch as subscribed again, as after a reconnect.
func (t *fakeTransport) confirm(ch domain.ChannelID) {
	t.mu.Lock()
	t.enqueueLocked(item{subscribed: ch})
	t.mu.Unlock()
}

// reconnect reports a reconnect that may have lost anything.
func (t *fakeTransport) reconnect() {
	t.mu.Lock()
	t.enqueueLocked(item{reconnected: true})
	t.mu.Unlock()
}

// lose reports that the connection failed: nothing arrives until the
// next confirm or reconnect.
func (t *fakeTransport) lose() {
	t.mu.Lock()
	t.enqueueLocked(item{lost: true})
	t.mu.Unlock()
}

// takeCalls returns the Watch and Unwatch calls since the last take.
func (t *fakeTransport) takeCalls() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	calls := t.calls
	t.calls = nil
	return calls
}

func (t *fakeTransport) stats() (attempts int, published []domain.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.attempts, slices.Clone(t.published)
}

func (t *fakeTransport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}
