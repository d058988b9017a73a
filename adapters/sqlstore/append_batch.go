package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
)

// AppendRequest is one message of a batch appended to one conversation:
// its id, sender, content, optional persona and client message id, and
// its creation time (UTC, to the microsecond) are stored as given.
// CheckMember says the sender must be a member (not for service tokens).
type AppendRequest struct {
	Message     domain.Message
	CheckMember bool
}

// AppendStatus is what became of one request of a batch.
type AppendStatus int

const (
	// AppendStored: the message was given Seq and Key and stored.
	AppendStored AppendStatus = iota + 1
	// AppendNoConversation: the conversation (of that kind) does not
	// exist; nothing of the batch was stored.
	AppendNoConversation
	// AppendNotMember: the sender was not a member when the
	// conversation's lock was granted; no seq was used.
	AppendNotMember
	// AppendDuplicate: the sender already used the client message id,
	// before or earlier in the batch; no seq was used.
	AppendDuplicate
)

// AppendOutcome is the result of one request of a batch. Removals is the
// conversation's count of member removals committed before the batch.
type AppendOutcome struct {
	Status   AppendStatus
	Seq      int64
	Key      int64
	Removals int64
}

// AppendBatchFunc appends the requests, all of one conversation and in
// order, as one atomic step: under the conversation's lock (PostgreSQL's
// row lock, SQLite's write lock) it checks each sender's membership with
// a read that sees every commit before the lock was granted, refuses
// client message ids already used, then gives the stored ones the next
// seqs and commit keys, in request order. A refused request uses no seq.
// An error means nothing was stored.
type AppendBatchFunc func(ctx context.Context, q sqlx.ExtContext, reqs []AppendRequest) ([]AppendOutcome, error)

// appendBatchInTx is the AppendBatchFunc of a dialect without one of its
// own, in the transaction q (which must hold the conversation's lock from
// the first statement: SQLite's BEGIN IMMEDIATE). Statements there cost no
// round trip, but each is parsed and run on its own, so a message takes
// two: the UPDATE that reserves its seq and key, then an INSERT that
// stores it only if the sender is a member, with ON CONFLICT DO NOTHING on
// the (sender_id, client_message_id) key refusing a client message id
// used before or earlier in the batch. Only a refused message costs more:
// a read of which check refused it (membership first) and the seq given
// back. Its key is not: keys need only grow, and the dialect's NextKey may
// be global (SQLite's clock), so the next message takes the next one.
func (r *MessageRepository) appendBatchInTx(ctx context.Context, q sqlx.ExtContext, reqs []AppendRequest) ([]AppendOutcome, error) {
	ch := reqs[0].Message.Channel
	out := make([]AppendOutcome, len(reqs))
	reserve := r.db.Rebind(`
		UPDATE conversations SET last_seq = last_seq + 1, last_x = ` + r.dialect.NextKey + `
		WHERE id = ? AND kind = ?
		RETURNING removals, last_seq, last_x`)
	insert := r.db.Rebind(`
		INSERT INTO messages (id, conversation_id, seq, x, sender_id, persona_id,
		                      content, client_message_id, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE NOT ? OR EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = ? AND user_id = ?)
		ON CONFLICT (sender_id, client_message_id) DO NOTHING`)
	for i, req := range reqs {
		m := req.Message
		var row struct {
			Removals int64 `db:"removals"`
			Seq      int64 `db:"last_seq"`
			Key      int64 `db:"last_x"`
		}
		err := sqlx.GetContext(ctx, q, &row, reserve, ch.ID, ch.Kind)
		if i == 0 && errors.Is(err, sql.ErrNoRows) {
			for i := range out {
				out[i].Status = AppendNoConversation
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		res, err := q.ExecContext(ctx, insert,
			m.ID, ch.ID, row.Seq, row.Key, m.SenderID, nullIfEmpty(m.PersonaID),
			m.Content, nullIfEmpty(m.ClientMessageID), m.CreatedAt,
			req.CheckMember, ch.ID, m.SenderID)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		if n == 1 {
			out[i] = AppendOutcome{Status: AppendStored, Seq: row.Seq, Key: row.Key, Removals: row.Removals}
			continue
		}
		status := AppendDuplicate
		if req.CheckMember {
			var member bool
			if err := sqlx.GetContext(ctx, q, &member, r.db.Rebind(`
				SELECT EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = ? AND user_id = ?)`),
				ch.ID, m.SenderID); err != nil {
				return nil, err
			}
			if !member {
				status = AppendNotMember
			}
		}
		if _, err := q.ExecContext(ctx, r.db.Rebind(`
			UPDATE conversations SET last_seq = last_seq - 1 WHERE id = ? AND kind = ?`), ch.ID, ch.Kind); err != nil {
			return nil, err
		}
		out[i] = AppendOutcome{Status: status, Removals: row.Removals}
	}
	return out, nil
}

// appendBatch runs one batch: in one statement where the dialect has an
// AppendBatch and no AfterAppend hook needs a transaction, else in a
// transaction that also runs the hook for each stored message. Errors are
// the driver's.
func (r *MessageRepository) appendBatch(ctx context.Context, reqs []AppendRequest) ([]AppendOutcome, error) {
	if r.dialect.AppendBatch != nil && r.afterAppend == nil {
		return r.dialect.AppendBatch(ctx, r.db, reqs)
	}
	var out []AppendOutcome
	err := InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		var err error
		if r.dialect.AppendBatch != nil {
			out, err = r.dialect.AppendBatch(ctx, tx, reqs)
		} else {
			out, err = r.appendBatchInTx(ctx, tx, reqs)
		}
		if err != nil || r.afterAppend == nil {
			return err
		}
		for i, o := range out {
			if o.Status != AppendStored {
				continue
			}
			m := reqs[i].Message
			m.Seq = o.Seq
			if err := r.afterAppend(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
