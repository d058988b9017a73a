package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

var _ ports.MessageRepository = (*MessageRepository)(nil)

// MessageRepository stores messages in PostgreSQL. The seq of a channel is
// the conversation row's last_seq counter, advanced under the row lock in
// the transaction that inserts the message.
type MessageRepository struct {
	db     *sqlx.DB
	notify NotifyConfig
}

// NewMessageRepository returns a MessageRepository on db, configured by
// opts (WithNotify).
func NewMessageRepository(db *sqlx.DB, opts ...MessageOption) *MessageRepository {
	r := &MessageRepository{db: db}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// messageRow is a message as selected by selectMessages.
type messageRow struct {
	ID              string    `db:"id"`
	Kind            string    `db:"kind"`
	ConversationID  string    `db:"conversation_id"`
	Seq             int64     `db:"seq"`
	SenderID        string    `db:"sender_id"`
	PersonaID       string    `db:"persona_id"`
	Content         string    `db:"content"`
	ClientMessageID string    `db:"client_message_id"`
	CreatedAt       time.Time `db:"created_at"`
}

func (r messageRow) toDomain() domain.Message {
	return domain.Message{
		ID:              r.ID,
		Channel:         domain.ChannelID{Kind: domain.ConversationKind(r.Kind), ID: domain.ConversationID(r.ConversationID)},
		Seq:             r.Seq,
		SenderID:        domain.UserID(r.SenderID),
		PersonaID:       r.PersonaID,
		Content:         r.Content,
		ClientMessageID: r.ClientMessageID,
		CreatedAt:       r.CreatedAt.UTC(),
	}
}

// selectMessages reads messages with their conversation's kind; callers
// append the WHERE clause on m and c.
const selectMessages = `
SELECT m.id, c.kind, m.conversation_id, m.seq, m.sender_id,
       COALESCE(m.persona_id, '') AS persona_id, m.content,
       COALESCE(m.client_message_id, '') AS client_message_id, m.created_at
FROM messages m
JOIN conversations c ON c.id = m.conversation_id
`

// nullIfEmpty stores an absent optional value as NULL, which the unique
// index on (sender_id, client_message_id) never treats as a duplicate.
func nullIfEmpty(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// Append assigns m the next seq of its channel and stores it, in one
// transaction: the UPDATE that advances last_seq locks the conversation's
// row until commit, so concurrent appends to one channel queue up there and
// get gap-free seqs in commit order. m.CreatedAt is stored in UTC, to the
// microsecond (now when zero). A missing conversation (or one of another
// kind) is domain.ErrNotFound; a ClientMessageID the sender already used,
// or a taken message id, is domain.ErrConflict. On any error the
// transaction rolls back, so no seq is consumed and, with WithNotify, no
// NOTIFY is delivered.
func (r *MessageRepository) Append(ctx context.Context, m domain.Message) (domain.Message, error) {
	if m.ID == "" {
		return domain.Message{}, domain.Invalid("id", "a message needs an id before it is stored")
	}
	stored := m
	stored.CreatedAt = utcMicro(m.CreatedAt)
	err := inTx(ctx, r.db, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &stored.Seq, `
			UPDATE conversations SET last_seq = last_seq + 1
			WHERE id = $1 AND kind = $2
			RETURNING last_seq`, m.Channel.ID, m.Channel.Kind); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO messages (id, conversation_id, seq, sender_id, persona_id,
			                      content, client_message_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			m.ID, m.Channel.ID, stored.Seq, m.SenderID, nullIfEmpty(m.PersonaID),
			m.Content, nullIfEmpty(m.ClientMessageID), stored.CreatedAt); err != nil {
			return err
		}
		return r.notifyStored(ctx, tx, stored)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Message{}, fmt.Errorf("append message: %w: conversation %s", domain.ErrNotFound, m.Channel)
	}
	if err != nil {
		return domain.Message{}, storeError(ctx, "append message", err)
	}
	return stored, nil
}

// FindByClientID returns the message sender stored with clientMessageID,
// or domain.ErrNotFound (always for an empty clientMessageID).
func (r *MessageRepository) FindByClientID(ctx context.Context, sender domain.UserID, clientMessageID string) (domain.Message, error) {
	var row messageRow
	err := r.db.GetContext(ctx, &row, selectMessages+`
		WHERE m.sender_id = $1 AND m.client_message_id = $2`, sender, clientMessageID)
	if err != nil {
		return domain.Message{}, storeError(ctx, "find message by client id", err)
	}
	return row.toDomain(), nil
}

// List returns a page of the channel's history, oldest first, anchored as
// q.Anchor says (domain.HistoryQuery). Each is a range scan of the
// (conversation_id, seq) index. A channel that does not exist has no
// messages; whether the caller may read it is the use case's concern. A
// Limit of 0 or less means domain.DefaultPageSize; a larger one than
// domain.MaxPageSize is honoured, since refusing it is the API's business,
// not the store's. An unknown anchor is domain.ErrInvalid.
func (r *MessageRepository) List(ctx context.Context, q domain.HistoryQuery) ([]domain.Message, error) {
	if q.Anchor != domain.PageLatest && q.Anchor != domain.PageAfter && q.Anchor != domain.PageBefore {
		return nil, domain.Invalid("anchor", "must be latest, after or before")
	}
	if q.Limit <= 0 {
		q.Limit = domain.DefaultPageSize
	}
	query, args, desc := historyQuery(q)
	var rows []messageRow
	if err := r.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, storeError(ctx, "list messages", err)
	}
	if desc {
		slices.Reverse(rows)
	}
	out := make([]domain.Message, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// historyQuery returns the statement and arguments that select q's page,
// and whether its rows come newest first and must be reversed. Every form
// is a range scan of the (conversation_id, seq) unique index, read forward
// or backward, with no sort.
func historyQuery(q domain.HistoryQuery) (query string, args []any, desc bool) {
	const where = selectMessages + `WHERE m.conversation_id = $1 AND c.kind = $2 `
	args = []any{q.Channel.ID, q.Channel.Kind, q.Limit}
	switch q.Anchor {
	case domain.PageAfter:
		return where + `AND m.seq > $4 ORDER BY m.seq LIMIT $3`, append(args, q.Seq), false
	case domain.PageBefore:
		return where + `AND m.seq < $4 ORDER BY m.seq DESC LIMIT $3`, append(args, q.Seq), true
	default:
		return where + `ORDER BY m.seq DESC LIMIT $3`, args, true
	}
}
