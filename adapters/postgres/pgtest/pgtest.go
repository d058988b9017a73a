// Package pgtest gives integration tests a fresh, migrated PostgreSQL
// database of their own, dropped when the test ends. Any package's tests
// may use it.
//
// The server is named by the TEST_DATABASE_URL environment variable (a
// postgres:// URL or key=value DSN of a database the user may create
// databases from), defaulting to DefaultURL. Integration tests are part of
// the suite: a server that cannot be reached fails the test, it is never
// skipped. `go test -short` runs unit tests only, through SkipIfShort.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/postgres"
)

// DefaultURL is the server used when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// EnvURL names the environment variable that points at the test server.
const EnvURL = "TEST_DATABASE_URL"

// setupTimeout bounds creating or dropping a database, so that a hung
// server fails the test instead of the whole run timing out.
const setupTimeout = 30 * time.Second

// SkipIfShort skips t under `go test -short`. Tests that need PostgreSQL
// call it first.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL; skipped in -short mode")
	}
}

// ServerURL returns the DSN of the test server: TEST_DATABASE_URL or
// DefaultURL.
func ServerURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates a database with a unique name on the test server,
// applies Relay's migrations to it and returns a pool connected to it and
// its DSN. When t ends, the pool is closed and the database dropped, even
// if connections to it are still open. An unreachable server fails t.
func NewDatabase(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	return newDatabase(t, true)
}

// NewEmptyDatabase is NewDatabase without the migrations, for tests of the
// migrations themselves.
func NewEmptyDatabase(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	return newDatabase(t, false)
}

func newDatabase(t testing.TB, migrate bool) (*sqlx.DB, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	server := ServerURL()
	admin, err := postgres.Open(ctx, server, postgres.PoolConfig{MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("pgtest: cannot reach the test PostgreSQL server (set %s; default %s): %v", EnvURL, DefaultURL, err)
	}
	defer admin.Close()

	name := "relay_t_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, server, name) })

	dsn, err := postgres.WithDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	db, err := postgres.Open(ctx, dsn, postgres.PoolConfig{MaxOpenConns: 10})
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", name, err)
	}
	// Registered after the drop, so it runs before it.
	t.Cleanup(func() { _ = db.Close() })

	if !migrate {
		return db, dsn
	}
	if err := postgres.Migrate(ctx, db, nil); err != nil {
		t.Fatalf("pgtest: migrate %s: %v", name, err)
	}
	return db, dsn
}

func dropDatabase(t testing.TB, server, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin, err := postgres.Open(ctx, server, postgres.PoolConfig{MaxOpenConns: 1})
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
		return
	}
	defer admin.Close()
	// WITH (FORCE) ends connections a test leaked instead of failing.
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: it crashes the program instead
	return hex.EncodeToString(b)
}
