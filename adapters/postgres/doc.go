// Package postgres implements Relay's repository ports on PostgreSQL with
// sqlx and lib/pq: conversations, their members and their messages, plus
// opening the connection pool, applying the embedded migrations and the
// readiness check.
//
// Driver errors are translated at this boundary into the domain's
// sentinels, always with %w so that both the sentinel and the driver's
// detail stay in the chain:
//
//   - sql.ErrNoRows and foreign-key violations become domain.ErrNotFound;
//   - unique violations (SQLSTATE 23505) become domain.ErrConflict;
//   - anything that means "the store cannot serve this now" becomes
//     domain.ErrUnavailable: a connection that cannot be made or broke
//     (driver.ErrBadConn, network errors, SQLSTATE classes 08, 53 and 57,
//     a closed pool), serialization failures and deadlocks, and a context
//     that was canceled or timed out. For the last, the context's error is
//     kept in the chain too, so errors.Is(err, context.Canceled) still
//     tells a client that went away from a database that is down.
//
// Any other error (a bug, such as a failed scan) is returned wrapped but
// untranslated, which the HTTP adapter answers as an internal error.
//
// Timestamps are stored in UTC and returned in UTC, truncated to the
// microsecond as PostgreSQL stores them.
//
// With WithNotify, MessageRepository.Append also issues a NOTIFY carrying
// the stored message (a wire envelope) in the transaction that stores it,
// so that other instances hear of exactly the messages that commit; the
// subpackage pgnotify listens for them.
package postgres
