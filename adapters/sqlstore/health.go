package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
)

// HealthChecker reports whether the database answers, for the readiness
// probe.
type HealthChecker struct {
	db *sqlx.DB
}

// NewHealthChecker returns a HealthChecker of db.
func NewHealthChecker(db *sqlx.DB) *HealthChecker { return &HealthChecker{db: db} }

// Ping returns nil when the database answers and otherwise an error
// wrapping domain.ErrUnavailable.
func (h *HealthChecker) Ping(ctx context.Context) error { return Ping(ctx, h.db) }

// Ping checks that db answers. Every failure wraps domain.ErrUnavailable:
// whether the server is down, the password wrong, the database missing or
// its file unreadable, the store cannot serve requests now.
func Ping(ctx context.Context, db *sqlx.DB) error {
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w: %w", domain.ErrUnavailable, ContextCause(ctx, err))
	}
	return nil
}
