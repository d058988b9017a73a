package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

var _ ports.ConversationRepository = (*ConversationRepository)(nil)

// ConversationRepository stores conversations and their members. A channel
// names a conversation by kind and id together: a channel whose kind does
// not match the stored conversation's is treated as missing. Member ids are
// returned sorted.
type ConversationRepository struct {
	db      *sqlx.DB
	dialect Dialect
}

// NewConversationRepository returns a ConversationRepository on db, whose
// SQL differs from other databases' as d says.
func NewConversationRepository(db *sqlx.DB, d Dialect) *ConversationRepository {
	return &ConversationRepository{db: db, dialect: d}
}

// conversationRow is a conversation as selected by selectConversations.
type conversationRow struct {
	ID        string    `db:"id"`
	Number    int64     `db:"num"`
	Kind      string    `db:"kind"`
	Name      string    `db:"name"`
	LastSeq   int64     `db:"last_seq"`
	CreatedAt time.Time `db:"created_at"`
	MemberIDs string    `db:"member_ids"` // a JSON array (Dialect.MemberIDs)
	// The member's view, selected by ListForMember only.
	ReadSeq     int64 `db:"read_seq"`
	UnreadCount int64 `db:"unread_count"`
}

func (r conversationRow) toDomain() (domain.Conversation, error) {
	var members []domain.UserID
	if err := json.Unmarshal([]byte(r.MemberIDs), &members); err != nil {
		return domain.Conversation{}, fmt.Errorf("members of %s: %w", r.ID, err)
	}
	return domain.Conversation{
		ID:          domain.ConversationID(r.ID),
		Kind:        domain.ConversationKind(r.Kind),
		Number:      r.Number,
		Name:        r.Name,
		MemberIDs:   members,
		CreatedAt:   r.CreatedAt.UTC(),
		LastSeq:     r.LastSeq,
		ReadSeq:     r.ReadSeq,
		UnreadCount: r.UnreadCount,
	}, nil
}

// selectConversations reads conversations with their members in one
// statement (one consistent snapshot, no query per conversation); callers
// append the WHERE clause on c.
func (r *ConversationRepository) selectConversations(where string) string {
	return r.selectConversationsFrom("conversations", where)
}

// selectConversationsFrom is selectConversations over from, a table or a
// derived table of conversations' rows, which it names c.
func (r *ConversationRepository) selectConversationsFrom(from, rest string) string {
	return r.selectColumnsFrom("", from, rest)
}

// selectColumnsFrom is selectConversationsFrom with more columns, which
// start with a comma.
func (r *ConversationRepository) selectColumnsFrom(columns, from, rest string) string {
	return r.db.Rebind(`
SELECT c.id, c.num, c.kind, COALESCE(c.name, '') AS name, c.last_seq, c.created_at,
       ` + r.dialect.MemberIDs + ` AS member_ids` + columns + `
FROM ` + from + ` c
` + rest)
}

// dmKey is the unique key of the pair of members of a direct message: the
// sorted ids joined by a space, which user ids cannot contain.
func dmKey(members []domain.UserID) string {
	ids := userIDStrings(members)
	slices.Sort(ids)
	return strings.Join(ids, " ")
}

// canonicalMembers returns members sorted and without duplicates, the order
// in which the repository returns them.
func canonicalMembers(members []domain.UserID) []domain.UserID {
	out := slices.Clone(members)
	slices.Sort(out)
	return slices.Compact(out)
}

func userIDStrings(users []domain.UserID) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = string(u)
	}
	return out
}

// utcMicro is t as the databases store it: UTC, whole microseconds (now
// when t is zero). Truncating here, rather than leaving it to PostgreSQL,
// which rounds to the nearest microsecond, lets a write return exactly the
// value later reads return without reading it back.
func utcMicro(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// CreateDirectMessage stores dm unless a direct message between the same
// two members exists, in which case it returns that one and created=false.
// The unique dm_key makes two concurrent calls for one pair create one
// conversation: the loser's INSERT waits for the winner's commit (for the
// row on PostgreSQL, for the write lock on SQLite), then does nothing, and
// the existing one is read instead. A zero dm.CreatedAt means now. Member
// ids are returned sorted; useqs, only when created, holds the useq each
// member's join took.
func (r *ConversationRepository) CreateDirectMessage(ctx context.Context, dm domain.Conversation) (domain.Conversation, bool, map[domain.UserID]int64, error) {
	members := canonicalMembers(dm.MemberIDs)
	if len(members) != 2 {
		return domain.Conversation{}, false, nil, domain.Invalid("memberIds", "a direct message has exactly two distinct members")
	}
	key := dmKey(members)
	createdAt := utcMicro(dm.CreatedAt)
	var (
		stored  domain.Conversation
		created bool
		useqs   map[domain.UserID]int64
	)
	err := InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		var num int64
		err := tx.GetContext(ctx, &num, r.db.Rebind(`
			INSERT INTO conversations (id, kind, dm_key, created_at)
			VALUES (?, 'dm', ?, ?)
			ON CONFLICT (dm_key) DO NOTHING
			RETURNING num`), dm.ID, key, createdAt)
		if errors.Is(err, sql.ErrNoRows) {
			// The pair exists, perhaps committed a moment ago by a
			// concurrent call; this statement's snapshot sees it.
			var row conversationRow
			if err := tx.GetContext(ctx, &row, r.selectConversations(`WHERE c.dm_key = ?`), key); err != nil {
				return err
			}
			stored, err = row.toDomain()
			return err
		}
		if err != nil {
			return err
		}
		created = true
		if useqs, err = r.insertMembers(ctx, tx, dm.ID, members, createdAt); err != nil {
			return err
		}
		stored = domain.Conversation{
			ID: dm.ID, Kind: domain.KindDM, Number: num,
			MemberIDs: members, CreatedAt: createdAt,
		}
		return nil
	})
	if err != nil {
		return domain.Conversation{}, false, nil, StoreError(ctx, r.dialect, "create direct message", err)
	}
	return stored, created, useqs, nil
}

// CreateGroup stores a new group with its members and returns it with its
// Number set and its members sorted and de-duplicated; a zero CreatedAt
// means now. An id already taken is a domain.ErrConflict. useqs holds the
// useq each member's join took.
func (r *ConversationRepository) CreateGroup(ctx context.Context, group domain.Conversation) (domain.Conversation, map[domain.UserID]int64, error) {
	members := canonicalMembers(group.MemberIDs)
	createdAt := utcMicro(group.CreatedAt)
	var (
		num   int64
		useqs map[domain.UserID]int64
	)
	err := InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &num, r.db.Rebind(`
			INSERT INTO conversations (id, kind, name, created_at)
			VALUES (?, 'group', ?, ?)
			RETURNING num`), group.ID, group.Name, createdAt); err != nil {
			return err
		}
		var err error
		useqs, err = r.insertMembers(ctx, tx, group.ID, members, createdAt)
		return err
	})
	if err != nil {
		return domain.Conversation{}, nil, StoreError(ctx, r.dialect, "create group", err)
	}
	return domain.Conversation{
		ID: group.ID, Kind: domain.KindGroup, Number: num, Name: group.Name,
		MemberIDs: members, CreatedAt: createdAt,
	}, useqs, nil
}
