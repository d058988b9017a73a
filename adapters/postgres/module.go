package postgres

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
	DSN  string
	Pool PoolConfig
	// MigrateOnStart applies the migrations when the application starts.
	MigrateOnStart bool
}

// Module provides the PostgreSQL pool, the repositories behind their ports
// and the database's HealthChecker. It needs a Config and a *slog.Logger,
// and takes a sqlstore.AfterAppend if one is provided: the
// MessageRepository then runs it in the transaction of every message it
// stores (pgnotify.Module provides one, which issues the message's NOTIFY;
// this package knows nothing of it). The pool connects (and migrates) when
// the application starts and closes when it stops, after everything that
// uses it.
var Module = fx.Module("postgres",
	fx.Provide(
		newDB,
		fx.Annotate(NewConversationRepository, fx.As(new(ports.ConversationRepository))),
		fx.Annotate(newMessageRepository, fx.As(new(ports.MessageRepository))),
		NewHealthChecker,
	),
)

// messageRepositoryParams is what newMessageRepository takes from fx.
type messageRepositoryParams struct {
	fx.In
	DB *sqlx.DB
	// AfterAppend is absent (nil) unless another module provides one.
	AfterAppend sqlstore.AfterAppend `optional:"true"`
}

func newMessageRepository(p messageRepositoryParams) *MessageRepository {
	return NewMessageRepository(p.DB, sqlstore.WithAfterAppend(p.AfterAppend))
}

func newDB(lc fx.Lifecycle, cfg Config, logger *slog.Logger) (*sqlx.DB, error) {
	db, err := NewPool(cfg.DSN, cfg.Pool)
	if err != nil {
		return nil, err
	}
	var migrate func(context.Context) error
	if cfg.MigrateOnStart {
		migrate = func(ctx context.Context) error { return Migrate(ctx, db, logger) }
	}
	lc.Append(sqlstore.PoolHook(db, func(ctx context.Context) error { return Ping(ctx, db, cfg.Pool) }, migrate))
	return db, nil
}
