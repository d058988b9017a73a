package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/sqlstore"
)

// appendBatch is PostgreSQL's sqlstore.AppendBatchFunc: one call of the
// relay_append function (migration 0006), which takes the conversation's
// row lock, checks each sender and client message id under it, and
// stores the batch, or of relay_append_one (0007) for a batch of one.
// Outside a transaction it is one round trip and one commit for the whole
// batch.
func appendBatch(ctx context.Context, q sqlx.ExtContext, reqs []sqlstore.AppendRequest) ([]sqlstore.AppendOutcome, error) {
	n := len(reqs)
	if n == 1 {
		o, err := appendOne(ctx, q, reqs[0])
		if err != nil {
			return nil, err
		}
		return []sqlstore.AppendOutcome{o}, nil
	}
	var (
		ids, senders, personas = make([]string, n), make([]string, n), make([]string, n)
		contents, clientIDs    = make([]string, n), make([]string, n)
		createdAt              = make([]string, n)
		check                  = make([]bool, n)
	)
	for i, req := range reqs {
		m := req.Message
		ids[i], senders[i], personas[i] = m.ID, string(m.SenderID), m.PersonaID
		contents[i], clientIDs[i] = m.Content, m.ClientMessageID
		createdAt[i] = m.CreatedAt.UTC().Format("2006-01-02 15:04:05.999999Z07:00")
		check[i] = req.CheckMember
	}
	ch := reqs[0].Message.Channel
	var (
		statuses   pq.StringArray
		seqs, keys pq.Int64Array
		removals   sql.NullInt64
	)
	err := q.QueryRowxContext(ctx, `SELECT statuses, seqs, keys, removals FROM relay_append($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ch.ID, ch.Kind, pq.StringArray(ids), pq.StringArray(senders), pq.StringArray(personas),
		pq.StringArray(contents), pq.StringArray(clientIDs), pq.StringArray(createdAt), pq.BoolArray(check)).
		Scan(&statuses, &seqs, &keys, &removals)
	if err != nil {
		return nil, err
	}
	if len(statuses) != n || len(seqs) != n || len(keys) != n {
		return nil, fmt.Errorf("relay_append: %d outcomes for %d messages", len(statuses), n)
	}
	out := make([]sqlstore.AppendOutcome, n)
	for i, status := range statuses {
		o, err := outcome(status, seqs[i], keys[i], removals.Int64)
		if err != nil {
			return nil, fmt.Errorf("relay_append: %w", err)
		}
		out[i] = o
	}
	return out, nil
}

// appendOne stores one message with relay_append_one: scalar parameters,
// and two statements inside instead of one per check.
func appendOne(ctx context.Context, q sqlx.ExtContext, req sqlstore.AppendRequest) (sqlstore.AppendOutcome, error) {
	m := req.Message
	var (
		status        string
		seq, key, rem int64
	)
	err := q.QueryRowxContext(ctx, `SELECT status, seq, key, removals FROM relay_append_one($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		m.Channel.ID, m.Channel.Kind, m.ID, m.SenderID, m.PersonaID, m.Content, m.ClientMessageID,
		m.CreatedAt.UTC(), req.CheckMember).Scan(&status, &seq, &key, &rem)
	if err != nil {
		return sqlstore.AppendOutcome{}, err
	}
	o, err := outcome(status, seq, key, rem)
	if err != nil {
		return sqlstore.AppendOutcome{}, fmt.Errorf("relay_append_one: %w", err)
	}
	return o, nil
}

// outcome reads one message's status as the relay_append functions
// answer it.
func outcome(status string, seq, key, removals int64) (sqlstore.AppendOutcome, error) {
	o := sqlstore.AppendOutcome{Removals: removals}
	switch status {
	case "stored":
		o.Status, o.Seq, o.Key = sqlstore.AppendStored, seq, key
	case "not_found":
		o.Status = sqlstore.AppendNoConversation
	case "not_member":
		o.Status = sqlstore.AppendNotMember
	case "duplicate":
		o.Status = sqlstore.AppendDuplicate
	default:
		return sqlstore.AppendOutcome{}, fmt.Errorf("unknown status %q", status)
	}
	return o, nil
}
