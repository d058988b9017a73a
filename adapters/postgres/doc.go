// Package postgres runs Relay's store on PostgreSQL with sqlx and lib/pq:
// opening the connection pool, applying the embedded migrations
// (migrations.Postgres) under an advisory lock, creating the database, the
// readiness check, and Dialect, PostgreSQL's SQL and error classification
// for the shared repositories of adapters/sqlstore, which
// NewConversationRepository and NewMessageRepository return.
//
// lib/pq's errors are classified by SQLSTATE: unique violations (23505)
// become domain.ErrConflict, foreign-key violations domain.ErrNotFound,
// and domain.ErrUnavailable covers a connection that cannot be made or
// broke (network errors, SQLSTATE classes 08, 53 and 57), a missing
// database or refused credentials (3D, 28), serialization failures and
// deadlocks; sqlstore adds what every driver shares.
//
// Every connection, the pool's and adapters/pgnotify's listener's, is made
// by Dialer: a bounded connect (and, through connect_timeout, a bounded
// startup handshake), TCP keepalive and, on Linux, TCP_USER_TIMEOUT, so
// that a server that vanished without closing is noticed in seconds, not
// after TCP's retransmissions give up.
//
// Timestamps are stored in UTC and returned in UTC, truncated to the
// microsecond as PostgreSQL stores them.
//
// The store knows nothing of notifiers: Module's MessageRepository runs a
// sqlstore.AfterAppend hook, if the application provides one, in the
// transaction that stores each message. adapters/pgnotify provides the
// hook that issues the message's NOTIFY there.
package postgres
