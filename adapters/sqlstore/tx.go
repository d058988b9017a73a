package sqlstore

import (
	"context"
	"errors"

	"github.com/jmoiron/sqlx"
)

// InTx runs fn in a transaction of db, committing when fn returns nil and
// rolling back otherwise. Errors come back as the driver returned them, so
// that the caller translates them once, with its own context.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// A failed rollback (connection lost) needs no action: the server
		// aborts a transaction whose connection is gone.
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, context.Canceled) {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return tx.Commit()
}
