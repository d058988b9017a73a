package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/relaymsg/relay/domain"
)

// errDBClosedText is the text of the error database/sql returns once the
// pool is closed (during shutdown, say); the package does not export the
// error, so it is matched by text.
const errDBClosedText = "sql: database is closed"

// StoreError translates err, returned by the driver while doing op, into a
// domain error: the cases every driver shares first, then d.Classify. Both
// the sentinel and err stay in the chain; nil stays nil.
func StoreError(ctx context.Context, d Dialect, op string, err error) error {
	if err == nil {
		return nil
	}
	err = ContextCause(ctx, err)
	sentinel := classifyCommon(err)
	if sentinel == nil && d.Classify != nil {
		sentinel = d.Classify(err)
	}
	if sentinel != nil {
		return fmt.Errorf("%s: %w: %w", op, sentinel, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// ContextCause puts ctx's error in err's chain when ctx is done: drivers
// report a statement they interrupted because of ctx in their own words
// (pq: "canceling statement due to user request", SQLite: "interrupted"),
// which hides the real cause.
func ContextCause(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// classifyCommon returns the sentinel of the errors that database/sql and
// the context give whatever the driver, or nil.
func classifyCommon(err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return domain.ErrNotFound
	case errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		strings.Contains(err.Error(), errDBClosedText):
		return domain.ErrUnavailable
	}
	return nil
}
