package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/relaymsg/relay/domain"
)

// errDBClosedText is the text of the error database/sql returns once the
// pool is closed (during shutdown, say); the package does not export the
// error, so it is matched by text.
const errDBClosedText = "sql: database is closed"

// storeError translates err, returned by the driver while doing op, into a
// domain error. Both the sentinel and err stay in the chain.
func storeError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	err = withContextCause(ctx, err)
	if sentinel := classify(err); sentinel != nil {
		return fmt.Errorf("%s: %w: %w", op, sentinel, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// withContextCause puts ctx's error in err's chain when ctx is done: pq
// reports a statement it canceled because of ctx as a server error
// ("canceling statement due to user request"), which hides the real cause.
func withContextCause(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// classify returns the domain sentinel that err stands for, or nil.
func classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ErrNotFound
	}
	if isUnavailable(err) {
		return domain.ErrUnavailable
	}
	if pqErr := pq.As(err); pqErr != nil {
		switch pqErr.Code {
		case pqerror.UniqueViolation:
			return domain.ErrConflict
		case pqerror.ForeignKeyViolation:
			return domain.ErrNotFound
		}
	}
	return nil
}

// isUnavailable reports whether err means that the store cannot serve the
// request now but might on a retry.
func isUnavailable(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr):
		return true
	}
	if strings.Contains(err.Error(), errDBClosedText) {
		return true
	}
	pqErr := pq.As(err)
	if pqErr == nil {
		return false
	}
	switch pqErr.Code.Class() {
	case pqerror.ClassConnectionException, // 08: the connection failed
		pqerror.ClassInsufficientResources, // 53: too many connections, disk full
		pqerror.ClassOperatorIntervention,  // 57: shutdown, query canceled
		// The database is missing or refuses our credentials: a deployment
		// fault that no request can fix, but the store is unavailable all
		// the same, and /readyz already says so.
		pqerror.ClassInvalidCatalogName,                // 3D: the database does not exist
		pqerror.ClassInvalidAuthorizationSpecification: // 28: authentication failed
		return true
	}
	return pqErr.Code == pqerror.TRSerializationFailure || pqErr.Code == pqerror.TRDeadlockDetected
}
