package sqlstore

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

// MessageRepository stores messages. The seq of a channel is the
// conversation row's last_seq counter, advanced in the transaction that
// inserts the message, under the row lock (PostgreSQL) or the database's
// write lock (SQLite, whose transactions must then begin IMMEDIATE).
type MessageRepository struct {
	db          *sqlx.DB
	dialect     Dialect
	afterAppend AfterAppend
	appends     *appendCombiner
}

// AfterAppend runs in Append's transaction once the message m is stored,
// before the commit; its error rolls the append back. PostgreSQL's NOTIFY
// is one: it is delivered when, and only if, the transaction commits.
type AfterAppend func(ctx context.Context, tx *sqlx.Tx, m domain.Message) error

// MessageOption configures a MessageRepository.
type MessageOption func(*MessageRepository)

// WithAfterAppend makes Append run hook in its transaction; nil is none.
func WithAfterAppend(hook AfterAppend) MessageOption {
	return func(r *MessageRepository) { r.afterAppend = hook }
}

// NewMessageRepository returns a MessageRepository on db, whose SQL differs
// from other databases' as d says, configured by opts.
func NewMessageRepository(db *sqlx.DB, d Dialect, opts ...MessageOption) *MessageRepository {
	r := &MessageRepository{db: db, dialect: d}
	for _, opt := range opts {
		opt(r)
	}
	r.appends = newAppendCombiner(r.AppendBatch)
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

// Append assigns m the next seq of its channel and stores it. Appends to
// one channel are serial: the conversation's row lock (PostgreSQL) or the
// database's write lock (SQLite, whose transactions begin IMMEDIATE) is
// held from the seq's assignment to the commit, so seqs are gap-free and
// in commit order. Concurrent appends to one channel on this instance are
// stored together, as one batch (appendCombiner): one statement and one
// commit for all of them, each with its own seq, in arrival order.
//
// m.CreatedAt is stored in UTC, to the microsecond (now when zero). A
// missing conversation (or one of another kind) is domain.ErrNotFound,
// and so is a sender who is not a member (unless opts.Service):
// membership is read under the lock, by a statement that sees every
// transaction committed before the lock was granted (PostgreSQL's READ
// COMMITTED takes a snapshot per statement, in AppendBatch's function
// too; SQLite's write lock is held since BEGIN). RemoveMember holds the
// same lock until its commit, so a send never lands after the removal of
// its sender. A ClientMessageID the sender already used, or a taken
// message id, is domain.ErrConflict. A refused or failed append uses no
// seq, and whatever the AfterAppend hook did is undone.
//
// The message's commit key (Dialect.NextKey, kept in last_x) is assigned
// with its seq, stored in its x column and returned as head.LastKey.
func (r *MessageRepository) Append(ctx context.Context, m domain.Message, opts ports.AppendOptions) (domain.Message, domain.ChannelState, error) {
	if m.ID == "" {
		return domain.Message{}, domain.ChannelState{}, domain.Invalid("id", "a message needs an id before it is stored")
	}
	if err := ctx.Err(); err != nil {
		// Not even queued: a batch would run without the caller's cancellation.
		return domain.Message{}, domain.ChannelState{}, StoreError(ctx, r.dialect, "append message", err)
	}
	stored := m
	stored.CreatedAt = utcMicro(m.CreatedAt)
	out, err := r.appends.append(ctx, AppendRequest{Message: stored, CheckMember: !opts.Service})
	if errors.Is(err, errLeftQueue) {
		return domain.Message{}, domain.ChannelState{}, StoreError(ctx, r.dialect, "append message", ctx.Err())
	}
	if err != nil {
		return domain.Message{}, domain.ChannelState{}, err
	}
	switch out.Status {
	case AppendNoConversation:
		return domain.Message{}, domain.ChannelState{}, fmt.Errorf("append message: %w: conversation %s", domain.ErrNotFound, m.Channel)
	case AppendNotMember:
		// Not found, as for a conversation the sender cannot see.
		return domain.Message{}, domain.ChannelState{}, fmt.Errorf("append message: %w: %s is not a member of %s", domain.ErrNotFound, m.SenderID, m.Channel)
	case AppendDuplicate:
		return domain.Message{}, domain.ChannelState{}, fmt.Errorf("append message: %w: client message id %q was used already",
			domain.ErrConflict, m.ClientMessageID)
	}
	stored.Seq = out.Seq
	return stored, domain.ChannelState{Channel: m.Channel, LastSeq: out.Seq, Removals: out.Removals, LastKey: out.Key}, nil
}

// AppendBatch stores reqs, messages of one conversation in order, as one
// batch (AppendBatchFunc), now: what Append does with the appends that
// queue behind one another. Errors are translated as Append's.
func (r *MessageRepository) AppendBatch(ctx context.Context, reqs []AppendRequest) ([]AppendOutcome, error) {
	out, err := r.appendBatch(ctx, reqs)
	if err != nil {
		return nil, StoreError(ctx, r.dialect, "append message", err)
	}
	return out, nil
}

// FindByClientID returns the message sender stored with clientMessageID,
// or domain.ErrNotFound (always for an empty clientMessageID).
func (r *MessageRepository) FindByClientID(ctx context.Context, sender domain.UserID, clientMessageID string) (domain.Message, error) {
	var row messageRow
	err := r.db.GetContext(ctx, &row, r.db.Rebind(selectMessages+`
		WHERE m.sender_id = ? AND m.client_message_id = ?`), sender, clientMessageID)
	if err != nil {
		return domain.Message{}, StoreError(ctx, r.dialect, "find message by client id", err)
	}
	return row.toDomain(), nil
}

// List returns a page of the channel's history, oldest first, anchored as
// q.Anchor says (domain.HistoryQuery). Each is a range scan of the
// (conversation_id, seq) index. A channel that does not exist has no
// messages; whether the caller may read it is the use case's concern. q
// is trusted as domain.NewHistoryQuery or domain.HistoryAfter made it: its
// limit is taken as given (a replay reads pages larger than
// domain.MaxPageSize).
func (r *MessageRepository) List(ctx context.Context, q domain.HistoryQuery) ([]domain.Message, error) {
	query, args, desc := HistoryQuery(q)
	var rows []messageRow
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(query), args...); err != nil {
		return nil, StoreError(ctx, r.dialect, "list messages", err)
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

// HistoryQuery returns the statement (with `?` placeholders, to be
// rebound) and arguments that select q's page, and whether its rows come
// newest first and must be reversed. Every form is a range scan of the
// (conversation_id, seq) unique index, read forward or backward, with no
// sort; the adapters' tests check that with their database's planner.
func HistoryQuery(q domain.HistoryQuery) (query string, args []any, desc bool) {
	const where = selectMessages + `WHERE m.conversation_id = ? AND c.kind = ? `
	args = []any{q.Channel.ID, q.Channel.Kind}
	switch q.Anchor {
	case domain.PageAfter:
		return where + `AND m.seq > ? ORDER BY m.seq LIMIT ?`, append(args, q.Seq, q.Limit), false
	case domain.PageBefore:
		return where + `AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`, append(args, q.Seq, q.Limit), true
	default:
		return where + `ORDER BY m.seq DESC LIMIT ?`, append(args, q.Limit), true
	}
}
