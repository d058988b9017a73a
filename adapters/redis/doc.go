// Package redis carries Relay's notifier events between instances over
// Redis pub/sub: a cluster.Transport on github.com/redis/go-redis/v9, and
// NewNotifier and Module, which put it under a cluster.Notifier.
//
// Each Relay channel is one Redis channel, "<prefix>ch:<channel>" (for
// example "relay:ch:dm:dm_…", or "relay:ch:user:<user id>" for a user
// channel, whose id may hold ':' or '*': SUBSCRIBE takes names literally,
// and only the first ':' after the prefix ends the kind). An instance subscribes only to the channels
// its own clients watch: the hub reports a channel's first local
// subscriber and its last leaving, and one goroutine turns those reports,
// batched and in order, into SUBSCRIBE and UNSUBSCRIBE on the one
// subscriber connection.
//
// Another goroutine reads that connection. Every subscription confirmation
// Redis sends, the first after SUBSCRIBE and each after go-redis has
// reconnected and resubscribed, is reported to the notifier, which resyncs
// the channel's local subscribers from the store: whatever was published
// while the connection was down is recovered that way. A connection that
// stays silent for HealthInterval is sent a PING; one that does not answer
// within PingTimeout is dropped and reconnected, so a half-open TCP
// connection is noticed in seconds. While the subscriber connection is down
// Ping fails, and readiness with it.
package redis
