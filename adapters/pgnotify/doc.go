// Package pgnotify carries Relay's notifier events between instances over
// PostgreSQL LISTEN/NOTIFY, for deployments without Redis: a
// cluster.Transport on lib/pq's Listener, and NewNotifier and Module,
// which put it under a cluster.Notifier.
//
// One PostgreSQL channel (DefaultChannel, "relay_events") carries the
// events of every Relay channel; each instance LISTENs on it over one
// dedicated connection and hands its Handler only the events of the
// channels its own clients watch. LISTEN is active for all of them at once,
// so a newly watched channel is reported received (and its subscribers
// resync from the store) right away.
//
// A message's NOTIFY is not sent by the transport: the MessageRepository
// issues it in the transaction that stores the message, through the
// store's neutral AfterAppend hook (adapters/sqlstore) that WithNotify
// sets, so it is delivered when the message commits, and never for a
// message that does not. Other events (a member removed) are sent with
// pg_notify on the pool. Module wires both sides with one instance id,
// which lets an instance drop its own messages when they come back. The
// NOTIFY's payload is a wire envelope of at most NotifyMaxPayload bytes.
//
// The package sits beside the store, not inside it: it imports
// adapters/postgres (for its Dialer, which every connection goes through,
// and for the pool's Config), never the reverse.
//
// When the listener connection drops, lib/pq reconnects and LISTENs again;
// the transport then reports Reconnected, and every watched channel
// resyncs from the store: whatever was committed meanwhile is recovered
// that way. A connection that stops answering (a half-open TCP connection)
// is found by a periodic ping and closed, which makes lib/pq reconnect.
// While the connection is down, Ping fails, and readiness with it.
package pgnotify
