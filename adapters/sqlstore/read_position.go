package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
)

// markRead raises the member's read_seq to the seq bound, clamped to the
// conversation's last_seq, only when that is above it. The clamp is a
// CASE rather than LEAST/MIN and the conversation is joined with
// UPDATE … FROM, so that one statement reads the same on PostgreSQL and
// SQLite (3.33 and later). The guard read_seq < target is what keeps the
// position from moving backwards under concurrency: PostgreSQL re-checks
// it on the newest row version when a concurrent mark committed first,
// and SQLite runs writers one at a time.
const markRead = `
UPDATE conversation_members
SET read_seq = t.target
FROM (SELECT id, CASE WHEN last_seq < ? THEN last_seq ELSE ? END AS target
      FROM conversations WHERE id = ? AND kind = ?) t
WHERE conversation_members.conversation_id = t.id
  AND conversation_members.user_id = ?
  AND conversation_members.read_seq < t.target
RETURNING read_seq`

// MarkRead raises user's read position in the conversation to seq, clamped
// to its last seq, and reports whether it moved. When the UPDATE changes
// nothing, a second statement of the same transaction tells a position
// already at or past the target (returned, moved=false) from a
// conversation of which user is not a member (domain.ErrNotFound). Only a
// move takes the user's next useq (logRead), which it returns; 0 when it
// did not move.
func (r *ConversationRepository) MarkRead(ctx context.Context, channel domain.ChannelID, user domain.UserID, seq int64) (int64, bool, int64, error) {
	var (
		readSeq int64
		moved   bool
		useq    int64
	)
	err := InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &readSeq, r.db.Rebind(markRead), seq, seq, channel.ID, channel.Kind, user)
		if err == nil {
			moved = true
			useq, err = r.logRead(ctx, tx, channel, user)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.GetContext(ctx, &readSeq, r.db.Rebind(`
			SELECT m.read_seq FROM conversation_members m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.id = ? AND c.kind = ? AND m.user_id = ?`), channel.ID, channel.Kind, user)
	})
	if err != nil {
		return 0, false, 0, StoreError(ctx, r.dialect, fmt.Sprintf("mark read %s", channel), err)
	}
	return readSeq, moved, useq, nil
}

// logRead takes user's next useq for the move of their read position in
// channel that this transaction has just made, and records it as the
// member's read_useq. The member row is already locked by the move, so
// two moves of one position take their useqs in the order they move it.
// It returns the useq taken.
func (r *ConversationRepository) logRead(ctx context.Context, tx *sqlx.Tx, channel domain.ChannelID, user domain.UserID) (int64, error) {
	useq, err := r.bumpUser(ctx, tx, user)
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, r.db.Rebind(`
		UPDATE conversation_members SET read_useq = ?
		WHERE conversation_id = ? AND user_id = ?`), useq, channel.ID, user)
	return useq, err
}
