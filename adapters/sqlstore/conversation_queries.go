package sqlstore

import (
	"context"
	"fmt"

	"github.com/relaymsg/relay/domain"
)

// Get returns one conversation with its members and last seq, or
// domain.ErrNotFound.
func (r *ConversationRepository) Get(ctx context.Context, channel domain.ChannelID) (domain.Conversation, error) {
	var row conversationRow
	err := r.db.GetContext(ctx, &row, r.selectConversations(`WHERE c.id = ? AND c.kind = ?`),
		channel.ID, channel.Kind)
	if err != nil {
		return domain.Conversation{}, StoreError(ctx, r.dialect, fmt.Sprintf("get conversation %s", channel), err)
	}
	return row.toDomain()
}

// channelStateRow is one row of ChannelStates' query.
type channelStateRow struct {
	ID       string `db:"id"`
	Kind     string `db:"kind"`
	Number   int64  `db:"num"`
	LastSeq  int64  `db:"last_seq"`
	IsMember bool   `db:"is_member"`
	Removals int64  `db:"removals"`
}

// ChannelStates returns, for each of channels that exists, its number, last
// seq, count of removals and whether user is a member, in the order of channels and once per
// channel. Channels that do not exist, or whose kind does not match, are
// absent. It costs one query whatever the number of channels.
func (r *ConversationRepository) ChannelStates(ctx context.Context, channels []domain.ChannelID, user domain.UserID) ([]domain.ChannelState, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	ids := make([]string, len(channels))
	for i, ch := range channels {
		ids[i] = string(ch.ID)
	}
	var rows []channelStateRow
	err := r.db.SelectContext(ctx, &rows, r.db.Rebind(`
		SELECT c.id, c.kind, c.num, c.last_seq, c.removals,
		       EXISTS (SELECT 1 FROM conversation_members m
		               WHERE m.conversation_id = c.id AND m.user_id = ?) AS is_member
		FROM conversations c
		WHERE c.id `+r.dialect.IDIn), user, r.dialect.IDList(ids))
	if err != nil {
		return nil, StoreError(ctx, r.dialect, "channel states", err)
	}
	// The kind is checked here rather than in SQL: ids are unique across
	// kinds, so the row found for an id is the only candidate.
	found := make(map[domain.ChannelID]domain.ChannelState, len(rows))
	for _, row := range rows {
		ch := domain.ChannelID{Kind: domain.ConversationKind(row.Kind), ID: domain.ConversationID(row.ID)}
		found[ch] = domain.ChannelState{Channel: ch, Number: row.Number, LastSeq: row.LastSeq, IsMember: row.IsMember,
			Removals: row.Removals}
	}
	states := make([]domain.ChannelState, 0, len(found))
	for _, ch := range channels {
		if st, ok := found[ch]; ok {
			states = append(states, st)
			delete(found, ch) // a channel named twice is reported once
		}
	}
	return states, nil
}

// MemberChannels returns the state of every conversation user is a member
// of, through the membership index, in one query.
func (r *ConversationRepository) MemberChannels(ctx context.Context, user domain.UserID) ([]domain.ChannelState, error) {
	var rows []channelStateRow
	err := r.db.SelectContext(ctx, &rows, r.db.Rebind(`
		SELECT c.id, c.kind, c.num, c.last_seq, c.removals, 1 = 1 AS is_member
		FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.user_id = ?
		ORDER BY c.num`), user)
	if err != nil {
		return nil, StoreError(ctx, r.dialect, "member channels", err)
	}
	states := make([]domain.ChannelState, len(rows))
	for i, row := range rows {
		ch := domain.ChannelID{Kind: domain.ConversationKind(row.Kind), ID: domain.ConversationID(row.ID)}
		states[i] = domain.ChannelState{Channel: ch, Number: row.Number, LastSeq: row.LastSeq, IsMember: true, Removals: row.Removals}
	}
	return states, nil
}

// MemberViews returns user's view of the conversations among channels it
// is a member of, as ListForMember's items, in the order of channels.
func (r *ConversationRepository) MemberViews(ctx context.Context, channels []domain.ChannelID, user domain.UserID) ([]domain.Conversation, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	ids := make([]string, len(channels))
	for i, ch := range channels {
		ids[i] = string(ch.ID)
	}
	inner := `SELECT c.id, c.num, c.kind, c.name, c.last_seq, c.created_at, me.user_id AS viewer, me.read_seq
		FROM conversations c JOIN conversation_members me ON me.conversation_id = c.id
		WHERE me.user_id = ? AND c.id ` + r.dialect.IDIn
	var rows []conversationRow
	if err := r.db.SelectContext(ctx, &rows, r.selectColumnsFrom(memberView, "("+inner+")", ""), user, r.dialect.IDList(ids)); err != nil {
		return nil, StoreError(ctx, r.dialect, "member views", err)
	}
	found := make(map[domain.ChannelID]domain.Conversation, len(rows))
	for _, row := range rows {
		c, err := row.toDomain()
		if err != nil {
			return nil, fmt.Errorf("member views: %w", err)
		}
		found[c.Channel()] = c
	}
	out := make([]domain.Conversation, 0, len(found))
	for _, ch := range channels {
		if c, ok := found[ch]; ok {
			out = append(out, c)
			delete(found, ch)
		}
	}
	return out, nil
}

// memberView is the columns of a member's view of the conversations of a
// derived table c that carries the member's viewer and read_seq: the
// unread count is a range scan of the (conversation_id, seq) index after
// read_seq, whose rows are counted, not read out, and filtered on sender.
const memberView = `, c.read_seq,
       (SELECT count(*) FROM messages msg
        WHERE msg.conversation_id = c.id AND msg.seq > c.read_seq
          AND msg.sender_id <> c.viewer) AS unread_count`

// ListForMember returns one page of the conversations q.Member belongs
// to, most recently created first, each with its members, last seq and
// q.Member's read position and unread count, in one query. Paging is
// keyset paging on (created_at, num), never an offset: the page after a
// cursor is the rows strictly below that position, so conversations
// created in between (which sort first) do not shift it. One row more
// than the page is read to tell whether another page follows. The page's
// rows are chosen in a derived table before their members are aggregated
// and their unread messages counted: SQLite would otherwise do both for
// all the user's conversations, then sort and cut them (PostgreSQL
// postpones the subqueries past the LIMIT by itself).
func (r *ConversationRepository) ListForMember(ctx context.Context, q domain.ConversationPageQuery) (domain.ConversationPage, error) {
	if q.Limit < 1 {
		return domain.ConversationPage{}, domain.Invalid("limit", "must be at least 1")
	}
	const order = `ORDER BY c.created_at DESC, c.num DESC`
	// The membership row is joined (its key makes it one row per
	// conversation) for the member's read_seq.
	inner := `SELECT c.id, c.num, c.kind, c.name, c.last_seq, c.created_at, me.user_id AS viewer, me.read_seq
		FROM conversations c JOIN conversation_members me ON me.conversation_id = c.id
		WHERE me.user_id = ?`
	args := []any{q.Member}
	if !q.After.IsZero() {
		// Spelled out rather than as a row comparison, which reads the
		// same on both databases' planners.
		inner += ` AND (c.created_at < ? OR (c.created_at = ? AND c.num < ?))`
		after := q.After.CreatedAt.UTC()
		args = append(args, after, after, q.After.Number)
	}
	inner += ` ` + order + ` LIMIT ?`
	args = append(args, q.Limit+1)
	var rows []conversationRow
	if err := r.db.SelectContext(ctx, &rows, r.selectColumnsFrom(memberView, "("+inner+")", order), args...); err != nil {
		return domain.ConversationPage{}, StoreError(ctx, r.dialect, "list conversations", err)
	}
	more := len(rows) > q.Limit
	if more {
		rows = rows[:q.Limit]
	}
	page := domain.ConversationPage{Conversations: make([]domain.Conversation, len(rows))}
	for i, row := range rows {
		c, err := row.toDomain()
		if err != nil {
			return domain.ConversationPage{}, fmt.Errorf("list conversations: %w", err)
		}
		page.Conversations[i] = c
	}
	if more {
		page.Next = domain.ConversationCursorOf(page.Conversations[len(page.Conversations)-1])
	}
	return page, nil
}
