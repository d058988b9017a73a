package sqlstore

import (
	"context"
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

// AddMember adds user to a group; adding a member twice is not an error. A
// channel that is not an existing group (a direct message included, whose
// members are fixed) is a domain.ErrNotFound.
func (r *ConversationRepository) AddMember(ctx context.Context, group domain.ChannelID, user domain.UserID) error {
	if group.Kind != domain.KindGroup {
		return fmt.Errorf("add member: %w: %s is not a group", domain.ErrNotFound, group)
	}
	// The usual case, a new member, is one statement; only when it
	// inserts nothing does a second tell "already a member" from "no such
	// group". Conversations are never deleted, so the answer cannot change
	// in between.
	res, err := r.db.ExecContext(ctx, r.db.Rebind(`
		INSERT INTO conversation_members (conversation_id, user_id, joined_at)
		SELECT id, ?, ? FROM conversations WHERE id = ? AND kind = 'group'
		ON CONFLICT DO NOTHING`), user, utcMicro(time.Now()), group.ID)
	if err != nil {
		return StoreError(ctx, r.dialect, "add member", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return StoreError(ctx, r.dialect, "add member", err)
	}
	var exists bool
	if err := r.db.GetContext(ctx, &exists, r.db.Rebind(
		`SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ? AND kind = 'group')`), group.ID); err != nil {
		return StoreError(ctx, r.dialect, "add member", err)
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
	// One transaction, so the count of removals can never disagree with
	// the members: it grows exactly when a row was deleted. Two removals
	// of one member queue up on the row (or SQLite's write lock), and the
	// second deletes nothing. The UPDATE of the conversation also takes
	// the row lock that MessageRepository.Append takes to assign a seq,
	// and holds it until the removal commits: an append either commits
	// before the removal does, or reads the membership after it (and is
	// refused). A removal that deletes nothing need not lock: the sender
	// was not a member anyway.
	var removed bool
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
		removed = true
		_, err = tx.ExecContext(ctx, r.db.Rebind(
			`UPDATE conversations SET removals = removals + 1 WHERE id = ?`), group.ID)
		return err
	})
	if err != nil {
		return false, StoreError(ctx, r.dialect, "remove member", err)
	}
	return removed, nil
}
