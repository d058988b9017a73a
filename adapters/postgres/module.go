package postgres

import (
	"context"
	"fmt"
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
// and takes a NotifyConfig if one is provided (pgnotify.Module provides
// it): the MessageRepository then issues a NOTIFY for every message it
// stores. The pool connects (and migrates) when the application starts and
// closes when it stops, after everything that uses it.
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
	// Notify is absent unless the PostgreSQL notifier is in use.
	Notify NotifyConfig `optional:"true"`
}

func newMessageRepository(p messageRepositoryParams) (*MessageRepository, error) {
	// Checked here, at start-up, rather than failing every Append.
	if err := p.Notify.Validate(); err != nil {
		return nil, fmt.Errorf("message repository: %w", err)
	}
	return NewMessageRepository(p.DB, WithNotify(p.Notify)), nil
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
