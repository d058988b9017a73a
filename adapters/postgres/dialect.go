package postgres

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/domain"
)

// Dialect is PostgreSQL's SQL for the shared repositories (adapters/sqlstore):
// members aggregated with ARRAY, lists of ids bound as one text[]
// parameter, and lib/pq's errors classified by SQLSTATE.
var Dialect = sqlstore.Dialect{
	MemberIDs: `array_to_json(ARRAY(SELECT m.user_id FROM conversation_members m
	             WHERE m.conversation_id = c.id ORDER BY m.user_id))::text`,
	IDIn:   `= ANY (?)`,
	IDRows: `unnest(CAST(? AS text[])) AS ids(value)`,
	IDList: func(ids []string) any { return pq.StringArray(ids) },
	// pg_current_xact_id assigns the transaction its xid if the UPDATE has
	// not yet: either way it is the top-level xid, whose end
	// pg_snapshot_xmin reflects. An xid8 has no cast to bigint but through
	// text; it fits one (a 32-bit epoch and a 32-bit xid, far from 2^63).
	NextKey:     `GREATEST(CAST(CAST(pg_current_xact_id() AS text) AS bigint), last_x + 1)`,
	AppendBatch: appendBatch,
	Watermark:   `SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)`,
	Classify:    classify,
}

// storeError is sqlstore.StoreError in PostgreSQL's dialect, for the
// statements of this package (migrations, createdb).
func storeError(ctx context.Context, op string, err error) error {
	return sqlstore.StoreError(ctx, Dialect, op, err)
}

// classify returns the domain sentinel that err, from lib/pq, stands for,
// or nil.
func classify(err error) error {
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
		// 22: a value the server cannot take (a NUL or bad UTF-8 in text,
		// a number out of range). The domain refuses what it knows of
		// first; anything left is still the client's input, never a 5xx.
		if pqErr.Code.Class() == pqerror.ClassDataException {
			return domain.ErrInvalid
		}
	}
	return nil
}

// isUnavailable reports whether err means that the server cannot serve the
// request now but might on a retry.
func isUnavailable(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr):
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
