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
// hold a shard's read lock while they call offer, which takes no lock, so
// the order has no cycle.
type subscription struct {
	n *Notifier
	// events is never closed, so a publisher racing with the end of the
	// subscription can never send on a closed channel; done signals the end.
	events  chan *domain.Event
	crowded chan struct{} // capacity 1: see Crowded
	done    chan struct{}
	ended   atomic.Bool
	err     error // written once before done is closed, read only after

	mu sync.Mutex
	// channels is the set the subscription is registered for in the
	// shards; nil once it has been removed from all of them.
	channels map[domain.ChannelID]struct{}
}

var _ ports.Subscription = (*subscription)(nil)

// Events returns the subscription's queue. It is never closed.
func (s *subscription) Events() <-chan *domain.Event { return s.events }

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
	if s.ended.Load() || s.channels == nil {
		if err := s.Err(); err != nil {
			return fmt.Errorf("memory notifier: subscribe: %w: %w", ports.ErrSubscriptionEnded, err)
		}
		return fmt.Errorf("memory notifier: subscribe: %w", ports.ErrSubscriptionEnded)
	}
	for _, ch := range channels {
		if _, ok := s.channels[ch]; ok {
			continue // subscribed already, or listed twice
		}
		s.channels[ch] = struct{}{}
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
		if _, ok := s.channels[ch]; !ok {
			continue // not subscribed, listed twice, or already detached
		}
		delete(s.channels, ch)
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
	select {
	case s.events <- ev:
		if len(s.events) > cap(s.events)/2 {
			select {
			case s.crowded <- struct{}{}:
			default: // told already
			}
		}
		return true
	default:
		return !s.end(ports.ErrSlowSubscriber)
	}
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
	if s.channels == nil {
		return
	}
	for ch := range s.channels {
		s.n.remove(ch, s)
	}
	s.channels = nil
	s.n.forget(s)
}
