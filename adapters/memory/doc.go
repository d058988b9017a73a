// Package memory implements ports.Notifier inside one process: the
// notifier Relay uses when it runs as a single instance (REDIS_URL unset),
// and the local fan-out stage that a cross-process notifier can build on.
//
// The channel → subscribers map is split into shards, each with its own
// RWMutex, so publishers of different channels never share a lock and a
// publisher takes only one shard's read lock. Every subscription has one
// bounded queue for all its channels; a subscriber whose queue is full is
// cut off (ports.ErrSlowSubscriber) rather than allowed to block the
// publisher or grow without bound. The client then resumes from its cursor
// and the store fills the gap, so dropping a subscriber loses nothing.
//
// A subscription can grow (Subscription.Subscribe) as well as shrink; an
// added channel is listed under its shard's write lock, so it gets every
// event published after the call returns, and a first subscriber is
// reported to OnWatch as for a new subscription.
//
// The package starts no goroutines.
package memory
