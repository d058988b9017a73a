package postgres

import (
	"context"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"go.uber.org/fx"

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
// and the database's HealthChecker. It needs a Config and a *slog.Logger.
// The pool connects (and migrates) when the application starts and closes
// when it stops, after everything that uses it.
var Module = fx.Module("postgres",
	fx.Provide(
		newDB,
		fx.Annotate(NewConversationRepository, fx.As(new(ports.ConversationRepository))),
		fx.Annotate(NewMessageRepository, fx.As(new(ports.MessageRepository))),
		NewHealthChecker,
	),
)

func newDB(lc fx.Lifecycle, cfg Config, logger *slog.Logger) (*sqlx.DB, error) {
	db, err := NewPool(cfg.DSN, cfg.Pool)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := Ping(ctx, db, cfg.Pool); err != nil {
				return err
			}
			if cfg.MigrateOnStart {
				return Migrate(ctx, db, logger)
			}
			return nil
		},
		OnStop: func(context.Context) error { return db.Close() },
	})
	return db, nil
}
