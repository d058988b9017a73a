package cluster

import (
	"context"

	"github.com/relaymsg/relay/domain"
)

// onWatch follows the hub's first-subscriber / last-subscriber changes. It
// runs under a shard lock of the hub, so it only records and hands over.
func (n *Notifier) onWatch(ch domain.ChannelID, watched bool) {
	n.watchMu.Lock()
	if watched {
		// Unconfirmed until the transport reports the subscription
		// (Subscribed, or Reconnected): before that, a removal published
		// elsewhere would not arrive.
		n.watched[ch] = true
	} else {
		delete(n.watched, ch)
	}
	n.metrics.watched.Set(float64(len(n.watched)))
	n.watchMu.Unlock()
	if watched {
		n.transport.Watch(ch)
	} else {
		n.transport.Unwatch(ch)
	}
}

// localEvent returns what the local subscribers get for ev, published on
// this instance. A message of a channel that the transport may have missed
// events of must not be taken on trust: a member removal published
// elsewhere may be among those events. It goes as a guarded message when
// it knows its channel's removals at commit (each stream then delivers it
// at once if no removal happened since it last checked access, and checks
// first otherwise), or else as a resync, which checks access and reads it
// from the store. Everything else is handed over as it is: the user-log
// events of a user channel too, which grant no access to anything (a
// stream re-reads the user's log, and checks access, on each).
//
// So while the transport is down a stream reads the store once per member
// removal, not twice per message.
func (n *Notifier) localEvent(ev domain.Event) domain.Event {
	if ev.Kind != domain.EventMessage {
		return ev
	}
	n.watchMu.RLock()
	unconfirmed := n.watched[ev.Channel]
	n.watchMu.RUnlock()
	if !unconfirmed {
		return ev
	}
	n.metrics.unconfirmed.Inc()
	if guarded, ok := ev.Guarded(); ok {
		return guarded
	}
	n.metrics.resyncs.Inc()
	return domain.Event{Kind: domain.EventResync, Channel: ev.Channel}
}

// confirm resyncs ch's local subscribers, then marks ch confirmed: a local
// message published from then on reaches the subscribers after the resync,
// so it cannot overtake the access check.
func (n *Notifier) confirm(ch domain.ChannelID) {
	n.resync(ch)
	n.watchMu.Lock()
	if _, ok := n.watched[ch]; ok {
		n.watched[ch] = false
	}
	n.watchMu.Unlock()
}

// confirmAll is confirm for every watched channel.
func (n *Notifier) confirmAll() {
	for _, ch := range n.watchedChannels() {
		n.resync(ch)
	}
	n.watchMu.Lock()
	for ch := range n.watched {
		n.watched[ch] = false
	}
	n.watchMu.Unlock()
}

// lose marks every watched channel unconfirmed until the transport
// confirms it again. (A channel watched from now on starts unconfirmed
// anyway.)
func (n *Notifier) lose() {
	n.watchMu.Lock()
	for ch := range n.watched {
		n.watched[ch] = true
	}
	n.watchMu.Unlock()
}

// resync tells ch's local subscribers to check the store.
func (n *Notifier) resync(ch domain.ChannelID) {
	n.metrics.resyncs.Inc()
	// The hub fails only once closed, when nobody is left to tell.
	_ = n.hub.Publish(context.Background(), domain.Event{Kind: domain.EventResync, Channel: ch})
}

// watchedChannels returns the channels with local subscribers.
func (n *Notifier) watchedChannels() []domain.ChannelID {
	n.watchMu.RLock()
	defer n.watchMu.RUnlock()
	channels := make([]domain.ChannelID, 0, len(n.watched))
	for ch := range n.watched {
		channels = append(channels, ch)
	}
	return channels
}

// Receiving reports whether the transport has confirmed that it receives
// ch (and has not lost it since): only then are local messages of ch
// handed to its subscribers as they are, instead of as resyncs. A channel
// without local subscribers is not received.
func (n *Notifier) Receiving(ch domain.ChannelID) bool {
	n.watchMu.RLock()
	defer n.watchMu.RUnlock()
	unconfirmed, watched := n.watched[ch]
	return watched && !unconfirmed
}
