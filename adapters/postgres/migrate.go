package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/migrations"
)

// migrationLockKey names Relay's migrations among the server's advisory
// locks ("relay" in ASCII); nothing else may use it.
const migrationLockKey int64 = 0x72656c6179

// Migrate applies the embedded migrations (package migrations) that db has
// not yet applied, in file name order, and records each in the
// schema_migrations table. Each file runs in its own transaction, so a
// failing file leaves nothing behind, and under a transaction-scoped
// advisory lock, so instances starting together apply each file exactly
// once. It is idempotent. A nil logger discards the log.
func Migrate(ctx context.Context, db *sqlx.DB, logger *slog.Logger) error {
	return migrate(ctx, db, migrations.FS, logger)
}

// migrate is Migrate over any file system, so tests can feed it files.
func migrate(ctx context.Context, db *sqlx.DB, fsys fs.FS, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	slices.Sort(names)

	// CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin
	// (both may try to create the table's type), hence the lock here too.
	err = inTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    text PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`)
		return err
	})
	if err != nil {
		return storeError(ctx, "migrate: create schema_migrations", err)
	}

	applied := 0
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		ran, err := applyMigration(ctx, db, version, string(body))
		if err != nil {
			return storeError(ctx, "migrate "+version, err)
		}
		if ran {
			applied++
			logger.InfoContext(ctx, "migration applied", "version", version)
		}
	}
	logger.InfoContext(ctx, "database schema up to date", "applied", applied, "known", len(names))
	return nil
}

// applyMigration runs one migration file unless it is recorded as applied,
// and reports whether it ran. The check happens under the lock, so of two
// instances racing, the second sees the first one's record.
func applyMigration(ctx context.Context, db *sqlx.DB, version, body string) (ran bool, err error) {
	err = inTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
			return err
		}
		var done bool
		if err := tx.GetContext(ctx, &done,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version); err != nil {
			return err
		}
		if done {
			return nil
		}
		// Without arguments pq uses the simple query protocol, which runs
		// a file of several statements in one round trip.
		if _, err := tx.ExecContext(ctx, body); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
			return err
		}
		ran = true
		return nil
	})
	return ran && err == nil, err
}
