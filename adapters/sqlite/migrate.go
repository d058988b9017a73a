package sqlite

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/migrations"
)

// Migrate applies the embedded SQLite migrations (migrations.SQLite) that
// db has not yet applied, in file name order, and records each in the
// schema_migrations table. Each file runs in its own transaction, so a
// failing file leaves nothing behind; the transactions begin IMMEDIATE,
// so two processes opening one file at once still apply each file once.
// It is idempotent. A nil logger discards the log.
func Migrate(ctx context.Context, db *sqlx.DB, logger *slog.Logger) error {
	return migrate(ctx, db, migrations.SQLite, logger)
}

// migrate is Migrate over any file system, so tests can feed it files.
func migrate(ctx context.Context, db *sqlx.DB, fsys fs.FS, logger *slog.Logger) error {
	return sqlstore.Migrate(ctx, db, Dialect, sqlstore.Migrations{
		FS: fsys,
		CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    TEXT PRIMARY KEY,
			applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
		)`,
	}, logger)
}
