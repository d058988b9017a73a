package sqlstore

import (
	"context"

	"github.com/jmoiron/sqlx"
	"go.uber.org/fx"
)

// PoolHook is the lifecycle of a pool that an adapter's fx module
// provides: on start, ping (which connects or opens the file), then
// migrate unless it is nil; on stop, close the pool, which fx does after
// everything that uses it has stopped.
func PoolHook(db *sqlx.DB, ping, migrate func(ctx context.Context) error) fx.Hook {
	return fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := ping(ctx); err != nil {
				return err
			}
			if migrate == nil {
				return nil
			}
			return migrate(ctx)
		},
		OnStop: func(context.Context) error { return db.Close() },
	}
}
