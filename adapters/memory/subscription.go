package memory

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// subscription is one subscriber of a Notifier.
//
// Lock order: subscription.mu, then a shard's mu or Notifier.mu. Publishers
// hold a shard's read lock while they call offer, which takes only qmu, a
// leaf lock that nothing is called under, so the order has no cycle.
type subscription struct {
	n *Notifier
	// The queue is a ring that grows as events wait, up to the notifier's
	// queue size, and shrinks back once drained: most subscriptions are
	// idle most of the time, and a queue of pointers allocated whole (a
	// channel of 256 slots is 2 KiB) would cost every idle stream its
	// full size.
	qmu     sync.Mutex
	queue   ring
	ready   chan struct{} // capacity 1: see Ready
	crowded chan struct{} // capacity 1: see Crowded
	done    chan struct{}
	ended   atomic.Bool
	err     error // written once before done is closed, read only after

	mu sync.Mutex
	// channels is the set the subscription is registered for in the
	// shards; detached once it has been removed from all of them.
	channels domain.ChannelMap[struct{}]
	detached bool
}

var _ ports.Subscription = (*subscription)(nil)

// Ready receives a value when events are queued.
func (s *subscription) Ready() <-chan struct{} { return s.ready }

// Take moves up to k queued events onto dst, oldest first. It signals
// Ready again when it leaves some, so that a subscriber taking a batch at
// a time never waits on a queue that holds events.
func (s *subscription) Take(dst []*domain.Event, k int) []*domain.Event {
	s.qmu.Lock()
	dst = s.queue.take(dst, k)
	left := s.queue.n
	s.qmu.Unlock()
	if left > 0 {
		signal(s.ready)
	}
	return dst
}

// signal sends on a channel of capacity 1 unless it holds a value
// already. A full channel is seen without its lock, so a busy queue's
// publishers pay nothing for signals already given.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Crowded receives a value when the queue passes half its capacity.
func (s *subscription) Crowded() <-chan struct{} { return s.crowded }

// Done returns a channel closed when the subscription ends.
func (s *subscription) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended: nil while it runs and after
// Close, ports.ErrSlowSubscriber after a cut-off, ports.ErrNotifierClosed
// after the notifier closed.
func (s *subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Subscribe adds channels, as Notifier.Subscribe registers them: once it
// returns, every event of theirs published is delivered; none published
// before is. A channel gaining its first subscriber is reported to
// Options.OnWatch, as for a new subscription. It fails with
// ports.ErrSubscriptionEnded once the subscription has ended.
func (s *subscription) Subscribe(channels ...domain.ChannelID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked under s.mu: whoever ends s detaches it afterwards, under
	// s.mu, so a channel added before the end is removed with the rest,
	// and none is added after it.
	if s.ended.Load() || s.detached {
		if err := s.Err(); err != nil {
			return fmt.Errorf("memory notifier: subscribe: %w: %w", ports.ErrSubscriptionEnded, err)
		}
		return fmt.Errorf("memory notifier: subscribe: %w", ports.ErrSubscriptionEnded)
	}
	for _, ch := range channels {
		if s.channels.Has(ch) {
			continue // subscribed already, or listed twice
		}
		s.channels.Set(ch, struct{}{})
		s.n.add(ch, s)
	}
	return nil
}

// Unsubscribe stops delivery of channels. Once it returns no event of
// those channels is enqueued any more; events already queued stay.
func (s *subscription) Unsubscribe(channels ...domain.ChannelID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range channels {
		if !s.channels.Has(ch) {
			continue // not subscribed, listed twice, or already detached
		}
		s.channels.Delete(ch)
		s.n.remove(ch, s)
	}
}

// Close ends the subscription, unless it has already ended, and removes it
// from the notifier. It is safe to call more than once.
func (s *subscription) Close() {
	s.end(nil)
	s.detach()
}

// offer enqueues ev without blocking. It returns false when the queue was
// full and this call ended the subscription, so that the caller, once it
// has released its shard lock, detaches it.
func (s *subscription) offer(ev *domain.Event) bool {
	if s.ended.Load() {
		return true // ended; being removed by whoever ended it
	}
	limit := s.n.queueSize
	s.qmu.Lock()
	if s.queue.n == limit {
		s.qmu.Unlock()
		return !s.end(ports.ErrSlowSubscriber)
	}
	s.queue.push(ev, limit)
	queued := s.queue.n
	s.qmu.Unlock()
	signal(s.ready)
	if queued > limit/2 {
		signal(s.crowded)
	}
	return true
}

// end closes done with err as the reason, unless the subscription has
// already ended. It reports whether this call ended it. It takes no lock,
// so a publisher may call it under a shard's read lock.
func (s *subscription) end(err error) bool {
	if !s.ended.CompareAndSwap(false, true) {
		return false
	}
	s.err = err
	close(s.done)
	return true
}

// detach removes the subscription from every shard and from the
// notifier's live set. It is idempotent.
func (s *subscription) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached {
		return
	}
	for ch := range s.channels.All() {
		s.n.remove(ch, s)
	}
	s.channels = domain.ChannelMap[struct{}]{}
	s.detached = true
	s.n.forget(s)
}

// ring is a FIFO of events in a slice used circularly. It grows by
// doubling up to a limit, and lets its slice go when drained if that had
// grown past shrinkAbove, so that a burst's memory does not stay with an
// idle subscription.
type ring struct {
	buf  []*domain.Event
	head int // index of the oldest event
	n    int // events queued
}

const (
	ringMin     = 8
	shrinkAbove = 64
)

// push appends ev; the caller has checked that fewer than limit are queued.
func (r *ring) push(ev *domain.Event, limit int) {
	if r.n == len(r.buf) {
		r.grow(limit)
	}
	i := r.head + r.n
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	r.buf[i] = ev
	r.n++
}

func (r *ring) grow(limit int) {
	size := min(max(2*len(r.buf), ringMin), limit)
	buf := make([]*domain.Event, size)
	k := copy(buf, r.buf[r.head:])
	copy(buf[k:], r.buf[:r.head])
	r.buf, r.head = buf, 0
}

// take moves up to k events onto dst, oldest first.
func (r *ring) take(dst []*domain.Event, k int) []*domain.Event {
	for ; k > 0 && r.n > 0; k-- {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = nil // the event is the taker's now
		if r.head++; r.head == len(r.buf) {
			r.head = 0
		}
		r.n--
	}
	if r.n == 0 {
		r.head = 0
		if len(r.buf) > shrinkAbove {
			r.buf = nil
		}
	}
	return dst
}
