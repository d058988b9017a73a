package sqlite

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/relaymsg/relay/adapters/sqlstore"
)

// driverName is the name modernc.org/sqlite registers with database/sql.
const driverName = "sqlite"

// busyTimeoutMillis is how long a statement waits for the write lock
// before failing with SQLITE_BUSY (domain.ErrUnavailable): long enough for
// a queue of writers, each holding the lock for a millisecond or so.
const busyTimeoutMillis = 5000

// PoolConfig sizes the connection pool. A zero field takes its default.
type PoolConfig struct {
	// MaxOpenConns bounds the connections to the file (default 4): WAL
	// lets readers run beside the one writer, and more writers would only
	// wait for the lock.
	MaxOpenConns int
}

func (c PoolConfig) withDefaults() PoolConfig {
	if c.MaxOpenConns <= 0 {
		c.MaxOpenConns = 4
	}
	return c
}

// Open returns a pool on the SQLite database file at path, created if
// missing (its directory must exist), once a connection has been made. A
// file that cannot be opened wraps domain.ErrUnavailable. The caller
// closes the pool.
func Open(ctx context.Context, path string, cfg PoolConfig) (*sqlx.DB, error) {
	db, err := NewPool(path, cfg)
	if err != nil {
		return nil, err
	}
	if err := sqlstore.Ping(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// NewPool returns a pool on the file at path without opening it: the
// first query (or Ping) does.
func NewPool(path string, cfg PoolConfig) (*sqlx.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, errors.New("open database: an SQLite path is not empty and has no ? or #")
	}
	// Relay's statements use ? placeholders, which sqlx must not rebind;
	// sqlx knows the driver only by the older name "sqlite3".
	sqlx.BindDriver(driverName, sqlx.QUESTION)
	db, err := sqlx.Open(driverName, path+"?"+dsnOptions())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(cfg.withDefaults().MaxOpenConns)
	db.SetMaxIdleConns(cfg.withDefaults().MaxOpenConns)
	return db, nil
}

// dsnOptions are the settings of every connection (see the package doc).
func dsnOptions() string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	// time.Time arguments are stored as INTEGER microseconds, and columns
	// declared TIMESTAMP are read back as time.Time.
	q.Set("_time_integer_format", "unix_micro")
	q.Set("_inttotime", "1")
	return q.Encode()
}
