package postgres

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/migrations"
)

// migrationLockKey names Relay's migrations among the server's advisory
// locks ("relay" in ASCII); nothing else may use it.
const migrationLockKey int64 = 0x72656c6179

// Migrate applies the embedded PostgreSQL migrations (migrations.Postgres)
// that db has not yet applied, in file name order, and records each in the
// schema_migrations table. Each file runs in its own transaction, so a
// failing file leaves nothing behind, and under a transaction-scoped
// advisory lock, so instances starting together apply each file exactly
// once. It is idempotent. A nil logger discards the log.
func Migrate(ctx context.Context, db *sqlx.DB, logger *slog.Logger) error {
	return migrate(ctx, db, migrations.Postgres, logger)
}

// migrate is Migrate over any file system, so tests can feed it files.
func migrate(ctx context.Context, db *sqlx.DB, fsys fs.FS, logger *slog.Logger) error {
	return sqlstore.Migrate(ctx, db, Dialect, sqlstore.Migrations{
		FS: fsys,
		CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    text PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
		Lock: func(ctx context.Context, tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey)
			return err
		},
	}, logger)
}
