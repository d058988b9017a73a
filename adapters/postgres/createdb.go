package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lib/pq"

	"github.com/relaymsg/relay/domain"
)

// CreateDatabase creates the database that dsn (a postgres:// URL) names, if
// it does not exist yet, connecting to the server's "postgres" database to
// do so. It reports whether it created it and the database's name. It lets
// `make run` start on a server that has never seen Relay.
func CreateDatabase(ctx context.Context, dsn string) (created bool, name string, err error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return false, "", fmt.Errorf("create database: %w", domain.Invalid("DATABASE_URL", "must be a postgres:// URL"))
	}
	name = strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return false, "", fmt.Errorf("create database: %w", domain.Invalid("DATABASE_URL", "names no database"))
	}
	adminDSN, err := WithDatabase(dsn, "postgres")
	if err != nil {
		return false, name, err
	}
	admin, err := Open(ctx, adminDSN, PoolConfig{MaxOpenConns: 1})
	if err != nil {
		return false, name, err
	}
	defer admin.Close()
	var exists bool
	if err := admin.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name); err != nil {
		return false, name, storeError(ctx, "look up database", err)
	}
	if exists {
		return false, name, nil
	}
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	if pqErr, ok := errors.AsType[*pq.Error](err); ok && pqErr.Code == "42P04" {
		return false, name, nil // created meanwhile by someone else
	}
	if err != nil {
		return false, name, storeError(ctx, "create database", err)
	}
	return true, name, nil
}

// WithDatabase returns dsn (a postgres:// URL or a key=value list) with its
// database replaced by name.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("the database URL is not a valid URL")
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// In a key=value DSN a later key overrides an earlier one.
	return dsn + " dbname=" + name, nil
}
