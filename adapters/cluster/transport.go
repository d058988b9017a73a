package cluster

import (
	"context"

	"github.com/relaymsg/relay/domain"
)

// Transport carries encoded events between instances. The Notifier decides
// what to send and what to do with what arrives; a Transport only moves
// bytes and reports when it starts (again) receiving a channel. The
// implementations are the Redis and PostgreSQL transports; the contract
// suite in package clustertest checks a new one.
//
// Every method is safe for concurrent use. Watch, Unwatch and Publish may
// be called before Start; Watch and Unwatch after Close are no-ops.
type Transport interface {
	// Start begins receiving and calls h for everything that arrives, from
	// goroutines the transport owns. It returns promptly: an unreachable
	// server is not an error here (Ping reports it, and the transport keeps
	// trying); a configuration that can never work is. Start is called at
	// most once.
	Start(ctx context.Context, h Handler) error
	// Publish sends payload, the encoding of ev, to every instance watching
	// ev.Channel, this one included. It is bounded in time by ctx and by
	// the transport's own timeout. A transport that has carried ev already
	// (PostgreSQL issues NOTIFY for a message in the transaction that
	// stores it) may do nothing. An error means the event may not have
	// reached the other instances; the Notifier publishes it again later.
	Publish(ctx context.Context, ev domain.Event, payload []byte) error
	// MaxPayload is the largest payload Publish accepts, or 0 for no limit.
	// A message whose envelope is larger is published partial (channel and
	// seq only), and receivers read it from the store.
	MaxPayload() int
	// Watch asks for ch's events: this instance has gained its first local
	// subscriber of ch. It must not block, nor call the Handler (which
	// would deadlock): it is called with a lock of the local hub held.
	// Calls for one channel arrive in order, and the transport must apply
	// them in that order (the last call wins).
	Watch(ch domain.ChannelID)
	// Unwatch says that the last local subscriber of ch has left. Like
	// Watch, it must not block.
	Unwatch(ch domain.ChannelID)
	// Ping reports whether the transport can both publish and receive now,
	// for readiness.
	Ping(ctx context.Context) error
	// Close stops receiving, waits for the transport's goroutines and
	// releases its connections. No Handler call starts after Close returns.
	Close() error
}

// Handler is what a Transport calls with what it receives. Calls come from
// the transport's goroutines; each call returns quickly (it enqueues to
// local subscribers without blocking). A transport that calls from one
// goroutine keeps per-channel order, which streams rely on for latency (not
// for correctness).
type Handler interface {
	// Deliver hands over an envelope published by some instance, maybe
	// this one. The payload is not retained after Deliver returns.
	Deliver(payload []byte)
	// Subscribed reports that the transport now receives ch: for the first
	// time since Watch, or again after a reconnect. Anything published to
	// ch before this call may have been missed, so ch's local subscribers
	// resync. A transport that confirms subscriptions per channel (Redis)
	// calls it for every confirmation.
	Subscribed(ch domain.ChannelID)
	// Reconnected reports that the transport may have missed events of any
	// channel and receives again: every watched channel resyncs. For
	// transports that receive all channels over one connection (PostgreSQL
	// LISTEN on a single channel), which call it once its LISTEN is active
	// again.
	Reconnected()
	// Lost reports that the transport stopped receiving (its connection
	// failed): until Subscribed(ch) or Reconnected, events of ch published
	// elsewhere do not arrive. A member removal among them would go
	// unnoticed, so meanwhile the Notifier has its local subscribers read
	// their messages from the store, which checks access, instead of
	// handing the messages over as they are. Calls must be ordered with
	// Subscribed and Reconnected: a transport calls all three from one
	// goroutine, or otherwise makes sure a Lost is never taken for news
	// after the reconnect that followed it.
	Lost()
}
