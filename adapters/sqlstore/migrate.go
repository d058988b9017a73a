package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Migrations describes how a database applies its migration files.
type Migrations struct {
	// FS holds the files, *.sql at its root, applied in file name order;
	// a file's version is its name without .sql.
	FS fs.FS
	// CreateTable creates the schema_migrations table (version text
	// primary key) if it does not exist.
	CreateTable string
	// Lock, if not nil, runs first in each migration transaction and holds
	// off other instances until the transaction ends, for databases that
	// several processes migrate at once.
	Lock func(ctx context.Context, tx *sqlx.Tx) error
}

// Migrate applies the files of m that db has not yet applied and records
// each in the schema_migrations table. Each file runs in its own
// transaction, so a failing file leaves nothing behind, and the check that
// it is not applied yet runs in that transaction too, so that instances
// starting together apply each file exactly once. It is idempotent. A nil
// logger discards the log; errors are translated with d.
func Migrate(ctx context.Context, db *sqlx.DB, d Dialect, m Migrations, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	names, err := fs.Glob(m.FS, "*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	slices.Sort(names)

	// CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin on
	// every database (PostgreSQL may race on the table's type), hence the
	// lock here too.
	err = InTx(ctx, db, func(tx *sqlx.Tx) error {
		if err := m.lock(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, m.CreateTable)
		return err
	})
	if err != nil {
		return StoreError(ctx, d, "migrate: create schema_migrations", err)
	}

	applied := 0
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		body, err := fs.ReadFile(m.FS, name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		ran, err := m.apply(ctx, db, version, string(body))
		if err != nil {
			return StoreError(ctx, d, "migrate "+version, err)
		}
		if ran {
			applied++
			logger.InfoContext(ctx, "migration applied", "version", version)
		}
	}
	logger.InfoContext(ctx, "database schema up to date", "applied", applied, "known", len(names))
	return nil
}

func (m Migrations) lock(ctx context.Context, tx *sqlx.Tx) error {
	if m.Lock == nil {
		return nil
	}
	return m.Lock(ctx, tx)
}

// apply runs one migration file unless it is recorded as applied, and
// reports whether it ran. The check happens under the lock, so of two
// instances racing, the second sees the first one's record.
func (m Migrations) apply(ctx context.Context, db *sqlx.DB, version, body string) (ran bool, err error) {
	err = InTx(ctx, db, func(tx *sqlx.Tx) error {
		if err := m.lock(ctx, tx); err != nil {
			return err
		}
		var done bool
		if err := tx.GetContext(ctx, &done, db.Rebind(
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`), version); err != nil {
			return err
		}
		if done {
			return nil
		}
		// Without arguments both drivers run a file of several statements
		// as a whole (pq in one round trip of the simple query protocol).
		if _, err := tx.ExecContext(ctx, body); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(
			`INSERT INTO schema_migrations (version) VALUES (?)`), version); err != nil {
			return err
		}
		ran = true
		return nil
	})
	return ran && err == nil, err
}
