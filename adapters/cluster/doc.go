// Package cluster implements ports.Notifier across Relay instances: a local
// hub (memory.Notifier, which does the fan-out to this instance's
// subscribers) plus a Transport that carries events between instances
// (Redis pub/sub, PostgreSQL LISTEN/NOTIFY).
//
// The notifier is a doorbell, not a store. Streams drop duplicates and fill
// gaps from the store by seq, and a domain.EventResync makes them check the
// store for a channel. So the package never needs delivery to be perfect;
// it needs every loss to be followed, eventually, by something that makes
// the affected streams look at the store:
//
//   - Local subscribers get an event from the hub before the transport is
//     tried, so they are served while the transport is down.
//   - An event the transport fails to publish is kept, the latest message
//     per channel, and re-published once the transport works again: other
//     instances, whose own connection may never have dropped, learn of it
//     then (a message's seq tells them what to fetch).
//   - When the transport (re)starts receiving a channel, its subscribers
//     get a resync: whatever was published before that moment, while the
//     connection was down or before it existed, is in the store.
//   - An envelope this build cannot use (too large to carry whole, a newer
//     version) becomes a resync of its channel.
//   - While the transport is not receiving a channel (its connection
//     failed, or the channel is newly watched and its SUBSCRIBE or LISTEN
//     not yet confirmed), local messages of it reach local subscribers as
//     guarded messages, or as resyncs when they do not know their
//     channel's removals at commit: a member removal published elsewhere
//     is missed meanwhile, so a stream checks access before delivering
//     unless no removal was committed since its last check.
//   - With a Store, every HeadInterval each watched channel's head (last
//     seq, member removals) goes to its local subscribers, which catch up
//     or re-check access if they are behind. That covers what nothing
//     else can: a notification lost for good, because its publisher
//     crashed between commit and publish or stopped with events still
//     waiting to be re-published.
//
// A user channel (domain.UserChannel) is carried like a conversation's:
// watched while it has local subscribers, unconfirmed until the transport
// confirms it, resynced on a confirmation, a reconnect or an unusable
// envelope. For a user channel a resync means "re-read the user's log"
// from the stream's user seq on. Its events (member joined or left, read
// moved) are doorbells that grant no access, so they are handed to local
// subscribers as they are even while unconfirmed; those the transport
// fails to publish coalesce per user channel to the highest user seq.
// User channels get no heads: the Store knows conversations, not users'
// logs.
//
// A channel added to a live subscription (ports.Subscription.Subscribe)
// is watched, confirmed and resynced exactly as a new subscription's.
//
// Events come back to their own instance through the transport too; they
// carry the instance id as their origin and are dropped, since the hub
// delivered them already.
package cluster
