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
// own, a statement at a time in the transaction q (which must hold the
// conversation's lock from the first statement: SQLite's BEGIN
// IMMEDIATE). Statements there cost no round trip.
func (r *MessageRepository) appendBatchInTx(ctx context.Context, q sqlx.ExtContext, reqs []AppendRequest) ([]AppendOutcome, error) {
	ch := reqs[0].Message.Channel
	var removals int64
	err := sqlx.GetContext(ctx, q, &removals, r.db.Rebind(`SELECT removals FROM conversations WHERE id = ? AND kind = ?`), ch.ID, ch.Kind)
	if errors.Is(err, sql.ErrNoRows) {
		out := make([]AppendOutcome, len(reqs))
		for i := range out {
			out[i].Status = AppendNoConversation
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]AppendOutcome, len(reqs))
	type clientKey struct{ sender, id string }
	used := map[clientKey]bool{} // in this batch
	var stored []int
	for i, req := range reqs {
		m := req.Message
		out[i].Removals = removals
		if req.CheckMember {
			var member bool
			if err := sqlx.GetContext(ctx, q, &member, r.db.Rebind(`
				SELECT EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = ? AND user_id = ?)`),
				ch.ID, m.SenderID); err != nil {
				return nil, err
			}
			if !member {
				out[i].Status = AppendNotMember
				continue
			}
		}
		if m.ClientMessageID != "" {
			key := clientKey{string(m.SenderID), m.ClientMessageID}
			var taken bool
			if err := sqlx.GetContext(ctx, q, &taken, r.db.Rebind(`
				SELECT EXISTS (SELECT 1 FROM messages WHERE sender_id = ? AND client_message_id = ?)`),
				m.SenderID, m.ClientMessageID); err != nil {
				return nil, err
			}
			if taken || used[key] {
				out[i].Status = AppendDuplicate
				continue
			}
			used[key] = true
		}
		stored = append(stored, i)
	}
	for _, i := range stored {
		m := reqs[i].Message
		var row struct {
			Seq int64 `db:"last_seq"`
			Key int64 `db:"last_x"`
		}
		if err := sqlx.GetContext(ctx, q, &row, r.db.Rebind(`
			UPDATE conversations SET last_seq = last_seq + 1, last_x = `+r.dialect.NextKey+`
			WHERE id = ? AND kind = ?
			RETURNING last_seq, last_x`), ch.ID, ch.Kind); err != nil {
			return nil, err
		}
		if _, err := q.ExecContext(ctx, r.db.Rebind(`
			INSERT INTO messages (id, conversation_id, seq, x, sender_id, persona_id,
			                      content, client_message_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			m.ID, ch.ID, row.Seq, row.Key, m.SenderID, nullIfEmpty(m.PersonaID),
			m.Content, nullIfEmpty(m.ClientMessageID), m.CreatedAt); err != nil {
			return nil, err
		}
		out[i] = AppendOutcome{Status: AppendStored, Seq: row.Seq, Key: row.Key, Removals: removals}
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
