// Package tests holds the black-box tests of the assembled service: each
// test starts Relay (in-process through cmd/relay/app, or the built binary
// when it must signal or restart it) on a fresh PostgreSQL database (or,
// in sqlite_test.go, a fresh SQLite file) and speaks to it over real HTTP
// only.
//
// Under -short only the tests that need no server run: those on SQLite,
// in-process. A test that needs PostgreSQL (pgtest.SkipIfShort), Redis, a
// browser or the built binary is skipped there; without -short it fails,
// never skips, when what it needs is missing.
package tests

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: stream
// handlers, subscriptions, pools and client connections must all be gone
// once every app has stopped. Nothing is ignored: database/sql's
// connectionOpener ends when the pool closes (app stop, pgtest cleanup), and
// neither lib/pq nor modernc.org/sqlite starts goroutines of its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relay-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(1)
	}
	binDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}
