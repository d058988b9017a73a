// Package sqlite runs Relay's store in an embedded SQLite database file
// with modernc.org/sqlite (pure Go, no cgo), so that Relay needs nothing but
// its binary on a laptop: opening the pool, applying the embedded
// migrations (migrations.SQLite), the readiness check, and Dialect,
// SQLite's SQL and error classification for the shared repositories of
// adapters/sqlstore.
//
// Every connection runs in WAL mode (readers do not wait for the writer),
// with foreign keys on, a busy timeout, and transactions that begin
// IMMEDIATE: a transaction takes the database's write lock at BEGIN,
// waiting up to the busy timeout for it, instead of upgrading a read lock
// later, which SQLite refuses at once (SQLITE_BUSY) when another writer
// committed in between. The write lock serialises writers, which is what
// makes each channel's seqs gap-free and commit-ordered here.
//
// One process owns the file: SQLite suits one instance (a laptop, a demo),
// never several instances behind a load balancer.
//
// Times are stored as INTEGER microseconds since the epoch (UTC) and read
// back as times: exact to the microsecond, like PostgreSQL.
package sqlite
