// Package sqlstore implements Relay's repository ports
// (ports.ConversationRepository and ports.MessageRepository) once, on sqlx,
// for every SQL database Relay runs on. The adapters that own a database,
// adapters/postgres and adapters/sqlite, open the pool, apply their
// migrations and hand this package a Dialect: the few SQL texts that differ
// between them, how a list of ids is bound, and how their driver's errors
// map to the domain's sentinels. Statements are written with `?`
// placeholders and rebound to the pool's bind style (sqlx.DB.Rebind).
//
// Driver errors are translated at this boundary into the domain's
// sentinels, always with %w so that both the sentinel and the driver's
// detail stay in the chain:
//
//   - sql.ErrNoRows and foreign-key violations become domain.ErrNotFound;
//   - unique violations become domain.ErrConflict;
//   - anything that means "the store cannot serve this now" becomes
//     domain.ErrUnavailable: a broken or closed connection or pool, a
//     busy or locked database, and a context that was canceled or timed
//     out. For the last, the context's error is kept in the chain too, so
//     errors.Is(err, context.Canceled) still tells a client that went away
//     from a database that is down.
//
// Any other error (a bug, such as a failed scan) is returned wrapped but
// untranslated, which the HTTP adapter answers as an internal error.
//
// Each user has a log (user_log.go): every change of their memberships or
// read positions takes their next useq in the transaction that makes it,
// and UserLog reads the changes after a useq. The order in which writes
// take their locks, which keeps them free of deadlocks, is set out there.
//
// Timestamps are stored in UTC, truncated to the microsecond, and returned
// in UTC, so a write returns exactly what later reads return.
package sqlstore
