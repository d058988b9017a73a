package postgres_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/adapters/sqlstore/sqlstoretest"
	"github.com/relaymsg/relay/migrations"
)

// appliedVersions returns the versions schema_migrations records, in order.
func appliedVersions(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	var versions []string
	if err := db.SelectContext(t.Context(), &versions, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return versions
}

// embeddedVersions returns the versions of the embedded migration files.
func embeddedVersions(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations.Postgres, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations = %v, %v; want some", names, err)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".sql")
	}
	slices.Sort(names)
	return names
}

func TestMigrateIsIdempotent(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, _ := pgtest.NewDatabase(t) // migrated once already
	for range 2 {
		if err := postgres.Migrate(t.Context(), db, nil); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	if got, want := appliedVersions(t, db), embeddedVersions(t); !slices.Equal(got, want) {
		t.Fatalf("schema_migrations = %v; want %v", got, want)
	}
}

// TestMigrateConcurrently starts several instances on an empty database at
// once, as a rolling deployment does: all succeed, each file applies once.
func TestMigrateConcurrently(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	_, dsn := pgtest.NewEmptyDatabase(t)
	const instances = 4
	pools := make([]*sqlx.DB, instances)
	for i := range pools {
		db, err := postgres.Open(t.Context(), dsn, postgres.PoolConfig{MaxOpenConns: 2})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		pools[i] = db
	}
	var (
		wg   sync.WaitGroup
		errs [instances]error
	)
	for i, db := range pools {
		wg.Go(func() { errs[i] = postgres.Migrate(t.Context(), db, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Migrate #%d: %v", i, err)
		}
	}
	if got, want := appliedVersions(t, pools[0]), embeddedVersions(t); !slices.Equal(got, want) {
		t.Fatalf("schema_migrations = %v; want %v", got, want)
	}
}

// TestMigrateRollsBackAFailingFile checks that a failing file leaves
// neither its changes nor its record, and that the files before it stay.
func TestMigrateRollsBackAFailingFile(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, _ := pgtest.NewEmptyDatabase(t)
	ctx := t.Context()
	files := fstest.MapFS{
		"0001_a.sql": {Data: []byte(`CREATE TABLE a (x int);`)},
		"0002_b.sql": {Data: []byte(`CREATE TABLE b (x int); SELECT no_such_function();`)},
	}
	if err := postgres.MigrateFS(ctx, db, files, nil); err == nil || !strings.Contains(err.Error(), "0002_b") {
		t.Fatalf("Migrate with a bad file = %v; want an error naming 0002_b", err)
	}
	if got := appliedVersions(t, db); !slices.Equal(got, []string{"0001_a"}) {
		t.Fatalf("schema_migrations = %v; want [0001_a]", got)
	}
	if exists(ctx, t, db, "b") || !exists(ctx, t, db, "a") {
		t.Fatalf("table a exists: %v, table b exists: %v; want a only", exists(ctx, t, db, "a"), exists(ctx, t, db, "b"))
	}

	files["0002_b.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE b (x int);`)}
	if err := postgres.MigrateFS(ctx, db, files, nil); err != nil {
		t.Fatalf("Migrate with the file fixed: %v", err)
	}
	if got := appliedVersions(t, db); !slices.Equal(got, []string{"0001_a", "0002_b"}) {
		t.Fatalf("schema_migrations = %v; want [0001_a 0002_b]", got)
	}
}

func exists(ctx context.Context, t *testing.T, db *sqlx.DB, table string) bool {
	t.Helper()
	var ok bool
	if err := db.GetContext(ctx, &ok, `SELECT to_regclass($1) IS NOT NULL`, table); err != nil {
		t.Fatalf("look up table %s: %v", table, err)
	}
	return ok
}

// TestMigrateBackfillsCommitKeys checks that 0005 gives the messages
// stored before it commit keys below every watermark, in seq order.
func TestMigrateBackfillsCommitKeys(t *testing.T) {
	t.Parallel()
	pgtest.SkipIfShort(t)
	db, _ := pgtest.NewEmptyDatabase(t)
	migrate := func(ctx context.Context, db *sqlx.DB, fsys fs.FS) error {
		return postgres.MigrateFS(ctx, db, fsys, nil)
	}
	sqlstoretest.CheckCommitKeyBackfill(t, db, migrations.Postgres, migrate, postgres.NewMessageRepository(db))
}
