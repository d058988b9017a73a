package httpapi_test

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// fakeNotifier is an in-process notifier with bounded queues that cuts off
// a subscriber whose queue is full, like the real hub.
type fakeNotifier struct {
	queue int

	mu           sync.Mutex
	subs         map[*fakeSub]bool
	subscribeErr error
	subscribed   chan struct{} // receives one value per Subscribe, when set
}

func newFakeNotifier(queue int) *fakeNotifier {
	return &fakeNotifier{queue: queue, subs: map[*fakeSub]bool{}}
}

func (n *fakeNotifier) Publish(_ context.Context, ev domain.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for s := range n.subs {
		if !s.has(ev.Channel) {
			continue
		}
		select {
		case s.events <- &ev:
			signal(s.ready)
		default:
			s.end(ports.ErrSlowSubscriber)
			delete(n.subs, s)
		}
	}
	return nil
}

func (n *fakeNotifier) Subscribe(_ context.Context, chs []domain.ChannelID) (ports.Subscription, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subscribeErr != nil {
		return nil, n.subscribeErr
	}
	s := &fakeSub{n: n, events: make(chan *domain.Event, n.queue), ready: make(chan struct{}, 1), done: make(chan struct{}), channels: map[domain.ChannelID]bool{}}
	for _, ch := range chs {
		s.channels[ch] = true
	}
	n.subs[s] = true
	if n.subscribed != nil {
		n.subscribed <- struct{}{}
	}
	return s, nil
}

func (n *fakeNotifier) Ping(context.Context) error { return nil }

func (n *fakeNotifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.subs)
}

type fakeSub struct {
	n      *fakeNotifier
	events chan *domain.Event
	ready  chan struct{}
	done   chan struct{}
	once   sync.Once
	err    atomic.Pointer[error]

	mu       sync.Mutex
	channels map[domain.ChannelID]bool
}

func (s *fakeSub) has(ch domain.ChannelID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels[ch]
}

func (s *fakeSub) end(err error) {
	s.once.Do(func() {
		if err != nil {
			s.err.Store(&err)
		}
		close(s.done)
	})
}

func (s *fakeSub) Ready() <-chan struct{}   { return s.ready }
func (s *fakeSub) Crowded() <-chan struct{} { return nil }
func (s *fakeSub) Done() <-chan struct{}    { return s.done }

// Take takes up to k queued events without waiting, and signals Ready
// again when it leaves some.
func (s *fakeSub) Take(dst []*domain.Event, k int) []*domain.Event {
	for ; k > 0; k-- {
		select {
		case ev := <-s.events:
			dst = append(dst, ev)
		default:
			return dst
		}
	}
	if len(s.events) > 0 {
		signal(s.ready)
	}
	return dst
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *fakeSub) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *fakeSub) Subscribe(chs ...domain.ChannelID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range chs {
		s.channels[ch] = true
	}
	return nil
}

func (s *fakeSub) Unsubscribe(chs ...domain.ChannelID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range chs {
		delete(s.channels, ch)
	}
}

func (s *fakeSub) Close() {
	s.n.mu.Lock()
	delete(s.n.subs, s)
	s.n.mu.Unlock()
	s.end(nil)
}
