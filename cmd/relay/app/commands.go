package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/sqlite"
)

// LoadStoreConfig reads DATABASE_URL alone, for the commands that need
// nothing else: the returned Config has DatabaseURL or SQLitePath set.
func LoadStoreConfig(getenv func(string) string) (Config, error) {
	r := envReader{getenv: getenv}
	var cfg Config
	cfg.DatabaseURL, cfg.SQLitePath = r.store("DATABASE_URL")
	return cfg, r.err
}

// LoadAuthSecret reads AUTH_SECRET alone, for `relay token`.
func LoadAuthSecret(getenv func(string) string) ([]byte, error) {
	r := envReader{getenv: getenv}
	secret := r.secret("AUTH_SECRET", false)
	return secret, r.err
}

// Migrate applies the database migrations to the store cfg names (`relay
// migrate`).
func Migrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if cfg.UsesSQLite() {
		db, err := sqlite.Open(ctx, cfg.SQLitePath, sqlite.PoolConfig{MaxOpenConns: 1})
		if err != nil {
			return err
		}
		defer db.Close()
		return sqlite.Migrate(ctx, db, logger)
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.PoolConfig{
		MaxOpenConns: 2,
		Dial:         postgres.DialConfig{ConnectTimeout: cfg.DBConnectTimeout},
	})
	if err != nil {
		return err
	}
	defer db.Close()
	return postgres.Migrate(ctx, db, logger)
}

// CreateDatabase prepares the store cfg names (`relay createdb`) and says
// what it did, or "" when there was nothing to do. PostgreSQL: the database
// is created if missing. SQLite: only the file's directory is (SQLite
// creates the file itself when Relay first opens it).
func CreateDatabase(ctx context.Context, cfg Config) (string, error) {
	if cfg.UsesSQLite() {
		dir := filepath.Dir(cfg.SQLitePath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("create the directory of %s: %w", cfg.SQLitePath, err)
		}
		return fmt.Sprintf("SQLite store %s: nothing to create (the file is created when Relay opens it)", cfg.SQLitePath), nil
	}
	created, name, err := postgres.CreateDatabase(ctx, cfg.DatabaseURL)
	if err != nil || !created {
		return "", err
	}
	return "created database " + name, nil
}
