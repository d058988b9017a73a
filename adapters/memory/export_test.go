package memory

import (
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// SubscriberCount returns how many subscriptions the shards list for ch, so
// that tests can see that a subscription was removed.
func SubscriberCount(n *Notifier, ch domain.ChannelID) int {
	sh := n.shardOf(ch)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return len(sh.subs[ch])
}

// LiveSubscriptions returns how many subscriptions the notifier would end
// on Close.
func LiveSubscriptions(n *Notifier) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.subs)
}

// ShardCount returns the number of shards.
func ShardCount(n *Notifier) int { return len(n.shards) }

// QueueSlots returns the slots the subscription's queue holds now, used
// or not.
func QueueSlots(sub ports.Subscription) int {
	s := sub.(*subscription)
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.queue.buf)
}
