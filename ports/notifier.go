package ports

//go:generate go tool mockgen -destination=mocks/notifier.go -package=mocks github.com/relaymsg/relay/ports Notifier,Subscription

import (
	"context"

	"github.com/relaymsg/relay/domain"
)

// Notifier carries events from the instance that stored a message to every
// subscriber of its channel. It is a doorbell, not a store: delivery is best
// effort and subscribers recover anything missed from the store by seq.
type Notifier interface {
	// Publish hands ev to the subscribers of ev.Channel. It never blocks on
	// a slow subscriber.
	Publish(ctx context.Context, ev domain.Event) error
	// Subscribe registers a subscription to channels. Events published after
	// Subscribe returns are delivered on the subscription's bounded queue,
	// in publish order per channel.
	Subscribe(ctx context.Context, channels []domain.ChannelID) (Subscription, error)
	// Ping reports whether the notifier can deliver now (for readiness).
	Ping(ctx context.Context) error
}

// Subscription is one subscriber's view of a Notifier.
type Subscription interface {
	// Ready receives a value when events are queued: one value for any
	// number of them, and one again after a Take that left some. It is
	// never closed; watch Done. A value may be stale (the events already
	// taken): Take then returns none.
	Ready() <-chan struct{}
	// Take moves up to max of the queued events, oldest first, onto dst
	// and returns it; it never waits. An event may be shared with other
	// subscribers: read it, never modify it. The queue is bounded: a
	// subscriber that lets it fill is cut off (see Done).
	Take(dst []*domain.Event, max int) []*domain.Event
	// Crowded receives a value when the queue has filled past half, so
	// that a subscriber that leaves it unread for a while (to write in
	// batches) reads it before it overflows. A nil channel (never) is
	// allowed for a queue that cannot overflow.
	Crowded() <-chan struct{}
	// Done is closed when the subscription ends: Close was called, the
	// subscriber fell behind and was cut off, or the notifier shut down.
	Done() <-chan struct{}
	// Err tells why Done was closed: nil after Close, ErrSlowSubscriber
	// after a cut-off, ErrNotifierClosed after shutdown.
	Err() error
	// Subscribe adds channels to the subscription, with the guarantees of
	// Notifier.Subscribe: events of the added channels published after it
	// returns are delivered, in publish order per channel; none published
	// before is. A channel already subscribed stays as it is. It fails,
	// wrapping ErrSubscriptionEnded, once the subscription has ended.
	Subscribe(channels ...domain.ChannelID) error
	// Unsubscribe stops delivery of the given channels' events.
	Unsubscribe(channels ...domain.ChannelID)
	// Close ends the subscription and releases its resources. It is safe to
	// call more than once.
	Close()
}
