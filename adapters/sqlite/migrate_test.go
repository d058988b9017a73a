package sqlite_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/adapters/sqlstore/sqlstoretest"
	"github.com/relaymsg/relay/migrations"
)

// appliedVersions returns the versions schema_migrations records, in order.
func appliedVersions(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	var versions []string
	if err := db.Select(&versions, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return versions
}

// tables returns the names of the database's tables, sorted.
func tables(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	var names []string
	if err := db.Select(&names, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMigrationsMatchPostgres checks that the two dialects' folders hold
// the same versions, so schema_migrations means the same on both.
func TestMigrationsMatchPostgres(t *testing.T) {
	t.Parallel()
	pg, err := fs.Glob(migrations.Postgres, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	lite, err := fs.Glob(migrations.SQLite, "*.sql")
	if err != nil || len(lite) == 0 || !slices.Equal(pg, lite) {
		t.Fatalf("SQLite migrations %v (%v); want the PostgreSQL ones' names %v", lite, err, pg)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	db := newDatabase(t) // migrated once already
	for range 2 {
		if err := sqlite.Migrate(t.Context(), db, nil); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	if got, want := appliedVersions(t, db), []string{"0001_init", "0002_member_removals", "0003_read_positions", "0004_user_logs", "0005_commit_keys", "0006_append_function", "0007_append_one"}; !slices.Equal(got, want) {
		t.Fatalf("schema_migrations = %v; want %v", got, want)
	}
	if got, want := tables(t, db), []string{"conversation_members", "conversations", "message_clock", "messages", "schema_migrations", "user_departures", "user_logs"}; !slices.Equal(got, want) {
		t.Fatalf("tables = %v; want %v", got, want)
	}
}

// TestMigrateRollsBackAFailingFile checks that a failing file leaves
// neither its changes nor its record, and that the files before it stay.
func TestMigrateRollsBackAFailingFile(t *testing.T) {
	t.Parallel()
	db := newEmptyDatabase(t)
	files := fstest.MapFS{
		"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
		"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER); SELECT no_such_function();`)},
	}
	if err := sqlite.MigrateFS(t.Context(), db, files, nil); err == nil || !strings.Contains(err.Error(), "0002_b") {
		t.Fatalf("Migrate with a bad file = %v; want an error naming 0002_b", err)
	}
	if got := appliedVersions(t, db); !slices.Equal(got, []string{"0001_a"}) {
		t.Fatalf("schema_migrations = %v; want [0001_a]", got)
	}
	if got := tables(t, db); !slices.Equal(got, []string{"a", "schema_migrations"}) {
		t.Fatalf("tables = %v; want a and schema_migrations only", got)
	}
	files["0002_b.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE b (x INTEGER);`)}
	if err := sqlite.MigrateFS(t.Context(), db, files, nil); err != nil {
		t.Fatalf("Migrate with the file fixed: %v", err)
	}
	if got := appliedVersions(t, db); !slices.Equal(got, []string{"0001_a", "0002_b"}) {
		t.Fatalf("schema_migrations = %v; want [0001_a 0002_b]", got)
	}
}

// TestMigrateBackfillsCommitKeys checks that 0005 gives the messages
// stored before it commit keys below every watermark, in seq order.
func TestMigrateBackfillsCommitKeys(t *testing.T) {
	t.Parallel()
	db := newEmptyDatabase(t)
	migrate := func(ctx context.Context, db *sqlx.DB, fsys fs.FS) error { return sqlite.MigrateFS(ctx, db, fsys, nil) }
	sqlstoretest.CheckCommitKeyBackfill(t, db, migrations.SQLite, migrate, sqlite.NewMessageRepository(db))
}
