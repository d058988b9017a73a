package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

var _ ports.ConversationRepository = (*ConversationRepository)(nil)

// ConversationRepository stores conversations and their members in
// PostgreSQL. A channel names a conversation by kind and id together: a
// channel whose kind does not match the stored conversation's is treated
// as missing. Member ids are returned sorted.
type ConversationRepository struct {
	db *sqlx.DB
}

// NewConversationRepository returns a ConversationRepository on db.
func NewConversationRepository(db *sqlx.DB) *ConversationRepository {
	return &ConversationRepository{db: db}
}

// conversationRow is a conversation as selected by selectConversations.
type conversationRow struct {
	ID        string         `db:"id"`
	Number    int64          `db:"num"`
	Kind      string         `db:"kind"`
	Name      string         `db:"name"`
	LastSeq   int64          `db:"last_seq"`
	CreatedAt time.Time      `db:"created_at"`
	MemberIDs pq.StringArray `db:"member_ids"`
}

func (r conversationRow) toDomain() domain.Conversation {
	members := make([]domain.UserID, len(r.MemberIDs))
	for i, m := range r.MemberIDs {
		members[i] = domain.UserID(m)
	}
	return domain.Conversation{
		ID:        domain.ConversationID(r.ID),
		Kind:      domain.ConversationKind(r.Kind),
		Number:    r.Number,
		Name:      r.Name,
		MemberIDs: members,
		CreatedAt: r.CreatedAt.UTC(),
		LastSeq:   r.LastSeq,
	}
}

// selectConversations reads conversations with their members in one
// statement (one consistent snapshot, no query per conversation); callers
// append the WHERE clause on c.
const selectConversations = `
SELECT c.id, c.num, c.kind, COALESCE(c.name, '') AS name, c.last_seq, c.created_at,
       ARRAY(SELECT m.user_id FROM conversation_members m
             WHERE m.conversation_id = c.id ORDER BY m.user_id) AS member_ids
FROM conversations c
`

// dmKey is the unique key of the pair of members of a direct message: the
// sorted ids joined by a space, which user ids cannot contain.
func dmKey(members []domain.UserID) string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = string(m)
	}
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

func userIDStrings(users []domain.UserID) pq.StringArray {
	out := make(pq.StringArray, len(users))
	for i, u := range users {
		out[i] = string(u)
	}
	return out
}

// utcMicro is t as PostgreSQL stores it: UTC, whole microseconds (now when
// t is zero). Truncating here, rather than leaving it to the server, which
// rounds to the nearest microsecond, lets a write return exactly the value
// later reads return without reading it back.
func utcMicro(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// CreateDirectMessage stores dm unless a direct message between the same
// two members exists, in which case it returns that one and created=false.
// The unique dm_key makes two concurrent calls for one pair create one
// conversation: the loser's INSERT waits for the winner's commit, then does
// nothing, and the existing one is read instead. A zero dm.CreatedAt
// means now. Member ids are returned sorted.
func (r *ConversationRepository) CreateDirectMessage(ctx context.Context, dm domain.Conversation) (domain.Conversation, bool, error) {
	members := canonicalMembers(dm.MemberIDs)
	if len(members) != 2 {
		return domain.Conversation{}, false, domain.Invalid("memberIds", "a direct message has exactly two distinct members")
	}
	key := dmKey(members)
	createdAt := utcMicro(dm.CreatedAt)
	var (
		stored  domain.Conversation
		created bool
	)
	err := inTx(ctx, r.db, func(tx *sqlx.Tx) error {
		var num int64
		err := tx.GetContext(ctx, &num, `
			INSERT INTO conversations (id, kind, dm_key, created_at)
			VALUES ($1, 'dm', $2, $3)
			ON CONFLICT (dm_key) DO NOTHING
			RETURNING num`, dm.ID, key, createdAt)
		if errors.Is(err, sql.ErrNoRows) {
			// The pair exists, perhaps committed a moment ago by a
			// concurrent call; this statement's snapshot sees it.
			var row conversationRow
			if err := tx.GetContext(ctx, &row, selectConversations+`WHERE c.dm_key = $1`, key); err != nil {
				return err
			}
			stored = row.toDomain()
			return nil
		}
		if err != nil {
			return err
		}
		created = true
		if err := insertMembers(ctx, tx, dm.ID, members, createdAt); err != nil {
			return err
		}
		stored = domain.Conversation{
			ID: dm.ID, Kind: domain.KindDM, Number: num,
			MemberIDs: members, CreatedAt: createdAt,
		}
		return nil
	})
	if err != nil {
		return domain.Conversation{}, false, storeError(ctx, "create direct message", err)
	}
	return stored, created, nil
}

// CreateGroup stores a new group with its members and returns it with its
// Number set and its members sorted and de-duplicated; a zero CreatedAt
// means now. An id already taken is a domain.ErrConflict.
func (r *ConversationRepository) CreateGroup(ctx context.Context, group domain.Conversation) (domain.Conversation, error) {
	members := canonicalMembers(group.MemberIDs)
	createdAt := utcMicro(group.CreatedAt)
	var num int64
	err := inTx(ctx, r.db, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &num, `
			INSERT INTO conversations (id, kind, name, created_at)
			VALUES ($1, 'group', $2, $3)
			RETURNING num`, group.ID, group.Name, createdAt); err != nil {
			return err
		}
		return insertMembers(ctx, tx, group.ID, members, createdAt)
	})
	if err != nil {
		return domain.Conversation{}, storeError(ctx, "create group", err)
	}
	return domain.Conversation{
		ID: group.ID, Kind: domain.KindGroup, Number: num, Name: group.Name,
		MemberIDs: members, CreatedAt: createdAt,
	}, nil
}

// insertMembers adds members in one statement, however many there are.
func insertMembers(ctx context.Context, tx *sqlx.Tx, id domain.ConversationID, members []domain.UserID, joinedAt time.Time) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO conversation_members (conversation_id, user_id, joined_at)
		SELECT $1, u, $3 FROM unnest($2::text[]) AS u
		ON CONFLICT DO NOTHING`, id, userIDStrings(members), joinedAt)
	return err
}

// AddMember adds user to a group; adding a member twice is not an error. A
// channel that is not an existing group (a direct message included, whose
// members are fixed) is a domain.ErrNotFound.
func (r *ConversationRepository) AddMember(ctx context.Context, group domain.ChannelID, user domain.UserID) error {
	if group.Kind != domain.KindGroup {
		return fmt.Errorf("add member: %w: %s is not a group", domain.ErrNotFound, group)
	}
	// One round trip that both inserts and tells "already a member" (no row
	// inserted, group found) from "no such group".
	var exists bool
	err := r.db.GetContext(ctx, &exists, `
		WITH g AS (SELECT id FROM conversations WHERE id = $1 AND kind = 'group'),
		     ins AS (
		         INSERT INTO conversation_members (conversation_id, user_id, joined_at)
		         SELECT id, $2, now() FROM g
		         ON CONFLICT DO NOTHING
		     )
		SELECT EXISTS (SELECT 1 FROM g)`, group.ID, user)
	if err != nil {
		return storeError(ctx, "add member", err)
	}
	if !exists {
		return fmt.Errorf("add member: %w: group %s", domain.ErrNotFound, group.ID)
	}
	return nil
}

// RemoveMember removes user from a group and reports whether it was a
// member; a missing group has no members, so the answer is false.
func (r *ConversationRepository) RemoveMember(ctx context.Context, group domain.ChannelID, user domain.UserID) (bool, error) {
	if group.Kind != domain.KindGroup {
		return false, nil
	}
	// One statement, so the count of removals can never disagree with the
	// members: it grows exactly when a row was deleted.
	res, err := r.db.ExecContext(ctx, `
		WITH gone AS (
			DELETE FROM conversation_members m
			USING conversations c
			WHERE c.id = m.conversation_id AND c.id = $1 AND c.kind = 'group' AND m.user_id = $2
			RETURNING m.conversation_id
		)
		UPDATE conversations SET removals = removals + 1
		WHERE id IN (SELECT conversation_id FROM gone)`,
		group.ID, user)
	if err != nil {
		return false, storeError(ctx, "remove member", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, storeError(ctx, "remove member", err)
	}
	return n > 0, nil
}
