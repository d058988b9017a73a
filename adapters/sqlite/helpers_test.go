package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/sqlite"
)

// newDatabase returns a pool on a fresh, migrated database file in t's
// temporary directory, closed when t ends. (":memory:" would give every
// connection of the pool a database of its own.)
func newDatabase(t testing.TB) *sqlx.DB {
	t.Helper()
	db := newEmptyDatabase(t)
	if err := sqlite.Migrate(t.Context(), db, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// newEmptyDatabase is newDatabase without the migrations.
func newEmptyDatabase(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "relay.db"), sqlite.PoolConfig{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
