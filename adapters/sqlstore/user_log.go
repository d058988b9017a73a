package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
)

// The per-user log. Every write that changes a user's memberships or read
// position takes the user's next useq, in its own transaction, with an
// upsert of the user's user_logs row: the row lock it takes (PostgreSQL;
// SQLite's IMMEDIATE transaction holds the database's write lock since
// BEGIN) is held until commit, so a user's useqs are gap-free, unique and
// in commit order, and a snapshot that sees a useq sees every lower one.
//
// Lock order, the same in every write, so that no two of them wait for
// each other in a cycle:
//
//  1. the conversation row (Append, AddMember and CreateDirectMessage /
//     CreateGroup, which insert it); RemoveMember and MarkRead lock the
//     member row first, as before the log, which cannot cycle because no
//     write waits for an existing member row while it holds the
//     conversation row (AddMember reads the membership under the
//     conversation lock and inserts only a row that is not there);
//  2. the user_logs rows, last, in ascending user id order when there are
//     several (CreateGroup, CreateDirectMessage: one statement that sorts
//     them); after them a write only inserts rows no one else can hold
//     (its members of a conversation it holds, a departure keyed by the
//     useq it holds) or updates the member row it already holds.
//
// So a transaction that waits for a user_logs row waits for one that holds
// only rows earlier in this order, and those never wait for it.

// bumpUser takes the next useq of user and returns it.
func (r *ConversationRepository) bumpUser(ctx context.Context, tx *sqlx.Tx, user domain.UserID) (int64, error) {
	var useq int64
	err := tx.GetContext(ctx, &useq, r.db.Rebind(`
		INSERT INTO user_logs (user_id, last_useq) VALUES (?, 1)
		ON CONFLICT (user_id) DO UPDATE SET last_useq = user_logs.last_useq + 1
		RETURNING last_useq`), user)
	return useq, err
}

// bumpUsers takes the next useq of each of users (distinct) in one
// statement, locking their rows in ascending id order: PostgreSQL inserts
// (or, on a conflict, locks and updates) the rows in the order the SELECT
// yields them, which the ORDER BY fixes. "WHERE true" tells SQLite's
// parser that ON CONFLICT is not a join's ON.
func (r *ConversationRepository) bumpUsers(ctx context.Context, tx *sqlx.Tx, users []domain.UserID) error {
	_, err := tx.ExecContext(ctx, r.db.Rebind(`
		INSERT INTO user_logs (user_id, last_useq)
		SELECT value, 1 FROM `+r.dialect.IDRows+` WHERE true ORDER BY value
		ON CONFLICT (user_id) DO UPDATE SET last_useq = user_logs.last_useq + 1`),
		r.dialect.IDList(userIDStrings(users)))
	return err
}

// insertMembers adds the members of the conversation id that this
// transaction has just inserted, in one statement however many there are:
// it takes their useqs, then stores each member with the useq it took
// (read back from user_logs, where this transaction's own update is
// visible to it) and joined_seq 0, the last seq of a new conversation. It
// returns the useq each member took, as the insert stored it.
func (r *ConversationRepository) insertMembers(ctx context.Context, tx *sqlx.Tx, id domain.ConversationID, members []domain.UserID, joinedAt time.Time) (map[domain.UserID]int64, error) {
	if err := r.bumpUsers(ctx, tx, members); err != nil {
		return nil, err
	}
	var rows []struct {
		User domain.UserID `db:"user_id"`
		USeq int64         `db:"joined_useq"`
	}
	if err := tx.SelectContext(ctx, &rows, r.db.Rebind(`
		INSERT INTO conversation_members (conversation_id, user_id, joined_at, joined_useq, joined_seq)
		SELECT ?, ul.user_id, ?, ul.last_useq, 0 FROM user_logs ul
		WHERE ul.user_id `+r.dialect.IDIn+`
		RETURNING user_id, joined_useq`), id, joinedAt, r.dialect.IDList(userIDStrings(members))); err != nil {
		return nil, err
	}
	useqs := make(map[domain.UserID]int64, len(rows))
	for _, row := range rows {
		useqs[row.User] = row.USeq
	}
	return useqs, nil
}

// userLogRow is one row of userLogQuery.
type userLogRow struct {
	What   string `db:"what"`
	ID     string `db:"id"`
	Kind   string `db:"kind"`
	Number int64  `db:"num"`
	USeq   int64  `db:"useq"`
	Seq    int64  `db:"seq"`
}

// userLogQuery reads a user's head and changes after a useq in ONE
// statement, which is what makes the read consistent: PostgreSQL runs a
// statement, all its branches and subqueries, on one snapshot, and SQLite
// runs it in one read transaction, on one snapshot of the WAL. A change
// commits its useq and its rows together, and useqs commit in order, so
// the snapshot holds every change up to the head it reads and none after.
// Its arguments are the user, then the user and after three times.
const userLogQuery = `
SELECT 'head' AS what, '' AS id, '' AS kind, 0 AS num,
       COALESCE((SELECT last_useq FROM user_logs WHERE user_id = ?), 0) AS useq, 0 AS seq
UNION ALL
SELECT 'join', c.id, c.kind, c.num, m.joined_useq, m.joined_seq
FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
WHERE m.user_id = ? AND m.joined_useq > ?
UNION ALL
SELECT 'left', d.conversation_id, d.kind, d.num, d.useq, 0
FROM user_departures d
WHERE d.user_id = ? AND d.useq > ?
UNION ALL
SELECT 'read', c.id, c.kind, c.num, m.read_useq, m.read_seq
FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
WHERE m.user_id = ? AND m.read_useq > ?
ORDER BY useq`

// UserLog returns user's head and the changes of their memberships and
// read positions after the useq after, read in one statement. The
// memberships are found through the (user_id, conversation_id) index and
// filtered, the departures by a range of their key.
func (r *ConversationRepository) UserLog(ctx context.Context, user domain.UserID, after int64) (domain.UserLog, error) {
	var rows []userLogRow
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(userLogQuery),
		user, user, after, user, after, user, after); err != nil {
		return domain.UserLog{}, StoreError(ctx, r.dialect, "user log", err)
	}
	var log domain.UserLog
	for _, row := range rows {
		ch := domain.ChannelID{Kind: domain.ConversationKind(row.Kind), ID: domain.ConversationID(row.ID)}
		switch row.What {
		case "head":
			log.Head = row.USeq
		case "join":
			log.Joined = append(log.Joined, domain.UserLogJoin{Channel: ch, Number: row.Number, USeq: row.USeq, JoinedSeq: row.Seq})
		case "left":
			log.Departures = append(log.Departures, domain.UserLogDeparture{Channel: ch, Number: row.Number, USeq: row.USeq})
		case "read":
			log.Reads = append(log.Reads, domain.UserLogRead{Channel: ch, Number: row.Number, USeq: row.USeq, ReadSeq: row.Seq})
		default:
			return domain.UserLog{}, fmt.Errorf("user log: unknown row %q", row.What)
		}
	}
	return log, nil
}

// UserHead returns user's useq of the newest change, 0 when none.
func (r *ConversationRepository) UserHead(ctx context.Context, user domain.UserID) (int64, error) {
	var head int64
	if err := r.db.GetContext(ctx, &head, r.db.Rebind(
		`SELECT COALESCE((SELECT last_useq FROM user_logs WHERE user_id = ?), 0)`), user); err != nil {
		return 0, StoreError(ctx, r.dialect, "user head", err)
	}
	return head, nil
}
