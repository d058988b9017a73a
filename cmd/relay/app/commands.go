package app

import (
	"context"
	"log/slog"

	"github.com/relaymsg/relay/adapters/postgres"
)

// LoadDatabaseURL reads DATABASE_URL alone, for the commands that need
// nothing else.
func LoadDatabaseURL(getenv func(string) string) (string, error) {
	r := envReader{getenv: getenv}
	dsn := r.postgresURL("DATABASE_URL")
	return dsn, r.err
}

// LoadAuthSecret reads AUTH_SECRET alone, for `relay token`.
func LoadAuthSecret(getenv func(string) string) ([]byte, error) {
	r := envReader{getenv: getenv}
	secret := r.secret("AUTH_SECRET", false)
	return secret, r.err
}

// Migrate applies the database migrations to dsn (`relay migrate`).
func Migrate(ctx context.Context, dsn string, logger *slog.Logger) error {
	db, err := postgres.Open(ctx, dsn, postgres.PoolConfig{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	return postgres.Migrate(ctx, db, logger)
}

// CreateDatabase creates the database dsn names if it is missing
// (`relay createdb`).
func CreateDatabase(ctx context.Context, dsn string) (created bool, name string, err error) {
	return postgres.CreateDatabase(ctx, dsn)
}
