package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
)

// IsMember reports whether user is a member of the conversation; false
// when the conversation does not exist.
func (r *ConversationRepository) IsMember(ctx context.Context, channel domain.ChannelID, user domain.UserID) (bool, error) {
	var member bool
	err := r.db.GetContext(ctx, &member, r.db.Rebind(`
		SELECT EXISTS (
			SELECT 1 FROM conversation_members m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.id = ? AND c.kind = ? AND m.user_id = ?
		)`), channel.ID, channel.Kind, user)
	if err != nil {
		return false, StoreError(ctx, r.dialect, "is member", err)
	}
	return member, nil
}

// errGroupFull rolls back an AddMember that would overfill the group.
var errGroupFull = errors.New("group is full")

// memberCountRow is AddMember's view of a group under its lock.
type memberCountRow struct {
	IsMember bool `db:"is_member"`
	Members  int  `db:"members"`
}

// AddMember adds user to a group of fewer than maxMembers members; adding
// a member twice is not an error, even when the group is full. A channel
// that is not an existing group (a direct message included, whose members
// are fixed) is a domain.ErrNotFound; a full group, domain.ErrGroupFull.
// It returns the useq the addition took, 0 when user was a member already.
func (r *ConversationRepository) AddMember(ctx context.Context, group domain.ChannelID, user domain.UserID, maxMembers int) (int64, error) {
	if group.Kind != domain.KindGroup {
		return 0, fmt.Errorf("add member: %w: %s is not a group", domain.ErrNotFound, group)
	}
	// The count must not go stale before the insert: two additions that
	// both counted maxMembers-1 would otherwise both insert. So the
	// transaction first locks the group the way MessageRepository.Append
	// and RemoveMember do, with an UPDATE of its row (a no-op one here:
	// PostgreSQL holds the row lock until commit, SQLite's IMMEDIATE
	// transaction holds the write lock since BEGIN), and only then counts,
	// in a statement whose snapshot sees every addition committed before
	// the lock was granted. The lock is also Append's, which advances
	// last_seq under it: the last_seq it returns is the new member's
	// joined_seq, and every message of the group is either at most
	// joined_seq or committed after the join. Only an actual addition
	// takes the user's next useq (see user_log.go for the lock order).
	var useq int64
	err := InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		var lastSeq int64
		if err := tx.GetContext(ctx, &lastSeq, r.db.Rebind(`
			UPDATE conversations SET last_seq = last_seq
			WHERE id = ? AND kind = 'group'
			RETURNING last_seq`), group.ID); err != nil {
			return err
		}
		var st memberCountRow
		if err := tx.GetContext(ctx, &st, r.db.Rebind(`
			SELECT EXISTS (SELECT 1 FROM conversation_members
			               WHERE conversation_id = ? AND user_id = ?) AS is_member,
			       (SELECT count(*) FROM conversation_members
			        WHERE conversation_id = ?) AS members`), group.ID, user, group.ID); err != nil {
			return err
		}
		switch {
		case st.IsMember:
			return nil
		case st.Members >= maxMembers:
			return errGroupFull
		}
		took, err := r.bumpUser(ctx, tx, user)
		if err != nil {
			return err
		}
		useq = took
		// No ON CONFLICT: the lock makes the membership read above
		// final, and a conflict must roll the useq back rather than
		// leave it taken for nothing.
		_, err = tx.ExecContext(ctx, r.db.Rebind(`
			INSERT INTO conversation_members (conversation_id, user_id, joined_at, joined_useq, joined_seq)
			VALUES (?, ?, ?, ?, ?)`), group.ID, user, utcMicro(time.Now()), took, lastSeq)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("add member: %w: group %s", domain.ErrNotFound, group.ID)
	case errors.Is(err, errGroupFull):
		return 0, fmt.Errorf("add member: %w: group %s has %d members", domain.ErrGroupFull, group.ID, maxMembers)
	case err != nil:
		return 0, StoreError(ctx, r.dialect, "add member", err)
	}
	return useq, nil
}

// RemoveMember removes user from a group and reports whether it was a
// member, with the useq the removal took (0 when it removed nothing); a
// missing group has no members, so the answer is false.
func (r *ConversationRepository) RemoveMember(ctx context.Context, group domain.ChannelID, user domain.UserID) (bool, int64, error) {
	if group.Kind != domain.KindGroup {
		return false, 0, nil
	}
	// One transaction, so the count of removals can never disagree with
	// the members: it grows exactly when a row was deleted. Two removals
	// of one member queue up on the row (or SQLite's write lock), and the
	// second deletes nothing. The UPDATE of the conversation also takes
	// the row lock that MessageRepository.Append takes to assign a seq,
	// and holds it until the removal commits: an append either commits
	// before the removal does, or reads the membership after it (and is
	// refused). A removal that deletes nothing need not lock: the sender
	// was not a member anyway. A removal takes the user's next useq and
	// records it in user_departures, with the conversation's kind and
	// number, since the member row is gone (see user_log.go for the lock
	// order).
	var (
		removed bool
		useq    int64
	)
	err := InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, r.db.Rebind(`
			DELETE FROM conversation_members
			WHERE user_id = ? AND conversation_id IN (
				SELECT id FROM conversations WHERE id = ? AND kind = 'group')`), user, group.ID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		var conv struct {
			Kind   string `db:"kind"`
			Number int64  `db:"num"`
		}
		if err := tx.GetContext(ctx, &conv, r.db.Rebind(`
			UPDATE conversations SET removals = removals + 1 WHERE id = ?
			RETURNING kind, num`), group.ID); err != nil {
			return err
		}
		took, err := r.bumpUser(ctx, tx, user)
		if err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, r.db.Rebind(`
			INSERT INTO user_departures (user_id, useq, conversation_id, kind, num, left_at)
			VALUES (?, ?, ?, ?, ?, ?)`), user, took, group.ID, conv.Kind, conv.Number, utcMicro(time.Now())); err != nil {
			return err
		}
		removed, useq = true, took
		return nil
	})
	if err != nil {
		return false, 0, StoreError(ctx, r.dialect, "remove member", err)
	}
	return removed, useq, nil
}
