package sqlite

import (
	"context"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/ports"
)

// Config configures Module.
type Config struct {
	// Path is the database file; its directory must exist.
	Path string
	Pool PoolConfig
	// MigrateOnStart applies the migrations when the application starts.
	MigrateOnStart bool
}

// Module provides the SQLite pool, the repositories behind their ports and
// the database's *sqlstore.HealthChecker, as postgres.Module does, so that
// the application picks one or the other. It needs a Config and a
// *slog.Logger. The pool opens the file (and migrates) when the
// application starts and closes when it stops, after everything that uses
// it.
var Module = fx.Module("sqlite",
	fx.Provide(
		newDB,
		fx.Annotate(NewConversationRepository, fx.As(new(ports.ConversationRepository))),
		fx.Annotate(NewMessageRepository, fx.As(new(ports.MessageRepository))),
		sqlstore.NewHealthChecker,
	),
)

// NewConversationRepository returns the shared ConversationRepository on
// db, a pool from Open or NewPool.
func NewConversationRepository(db *sqlx.DB) *sqlstore.ConversationRepository {
	return sqlstore.NewConversationRepository(db, Dialect)
}

// NewMessageRepository returns the shared MessageRepository on db, a pool
// from Open or NewPool.
func NewMessageRepository(db *sqlx.DB) *sqlstore.MessageRepository {
	return sqlstore.NewMessageRepository(db, Dialect)
}

func newDB(lc fx.Lifecycle, cfg Config, logger *slog.Logger) (*sqlx.DB, error) {
	db, err := NewPool(cfg.Path, cfg.Pool)
	if err != nil {
		return nil, err
	}
	var migrate func(context.Context) error
	if cfg.MigrateOnStart {
		migrate = func(ctx context.Context) error { return Migrate(ctx, db, logger) }
	}
	lc.Append(sqlstore.PoolHook(db, func(ctx context.Context) error { return sqlstore.Ping(ctx, db) }, migrate))
	return db, nil
}
