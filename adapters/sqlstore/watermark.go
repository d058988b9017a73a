package sqlstore

import (
	"context"

	"github.com/relaymsg/relay/domain"
)

// StableWatermark returns the stable watermark of commit keys
// (ports.MessageRepository.StableWatermark), read with Dialect.Watermark
// in one statement outside any transaction.
//
// PostgreSQL: pg_snapshot_xmin(pg_current_snapshot()), the lowest xid
// still running when the snapshot is taken. A message's key x is at least
// the xid of the transaction that appended it (Dialect.NextKey). So x < W
// means that transaction had ended before the snapshot: committed (then
// every later snapshot sees it) or rolled back (then it never will). And a
// transaction that commits after the call was either running at the
// snapshot, so its xid is ≥ xmin, or got its xid later, above every xid
// the snapshot knew: either way its keys are ≥ W. The caveat: xmin is
// cluster-wide, so one long transaction holding an xid anywhere in the
// cluster (any database, an idle-in-transaction session, a prepared
// transaction) holds W back until it ends. W stays exact, it only lags.
//
// SQLite: message_clock.last_x + 1. Writers take turns (IMMEDIATE
// transactions), each moving the clock to its message's key in its own
// transaction, so the committed clock is the largest key committed; every
// key up to it is committed and every later append gets a larger one. A
// read that starts after this one sees at least the same commits (WAL).
func (r *MessageRepository) StableWatermark(ctx context.Context) (int64, error) {
	var w int64
	if err := r.db.GetContext(ctx, &w, r.dialect.Watermark); err != nil {
		return 0, StoreError(ctx, r.dialect, "read stable watermark", err)
	}
	return w, nil
}

// PrefixAt returns, for each channel, the highest seq whose commit key is
// below w (ports.MessageRepository.PrefixAt): one statement, with one
// backward step of the (conversation_id, x) index per conversation.
func (r *MessageRepository) PrefixAt(ctx context.Context, channels []domain.ChannelID, w int64) (map[domain.ChannelID]int64, error) {
	out := make(map[domain.ChannelID]int64, len(channels))
	if len(channels) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(channels))
	for _, ch := range channels {
		if _, seen := out[ch]; !seen {
			out[ch] = 0
			ids = append(ids, string(ch.ID))
		}
	}
	var rows []struct {
		ID   string `db:"id"`
		Kind string `db:"kind"`
		Seq  int64  `db:"seq"`
	}
	query, args := PrefixQuery(r.dialect, ids, w)
	if err := r.db.SelectContext(ctx, &rows, r.db.Rebind(query), args...); err != nil {
		return nil, StoreError(ctx, r.dialect, "read prefixes at watermark", err)
	}
	for _, row := range rows {
		ch := domain.ChannelID{Kind: domain.ConversationKind(row.Kind), ID: domain.ConversationID(row.ID)}
		// A channel asked for with another kind is another channel: it
		// does not exist and stays at 0.
		if _, asked := out[ch]; asked {
			out[ch] = row.Seq
		}
	}
	return out, nil
}

// PrefixQuery returns the statement (with `?` placeholders, to be
// rebound) and arguments that select, for each conversation of ids that
// exists, its id, kind and the highest seq whose key is below w (0 if
// none). The correlated subquery is one backward step of the
// (conversation_id, x) index per conversation, with no sort; the adapters'
// tests check that with their database's planner.
func PrefixQuery(d Dialect, ids []string, w int64) (query string, args []any) {
	return `
		SELECT c.id, c.kind,
		       COALESCE((SELECT m.seq FROM messages m
		                 WHERE m.conversation_id = c.id AND m.x < ?
		                 ORDER BY m.x DESC LIMIT 1), 0) AS seq
		FROM conversations c
		WHERE c.id ` + d.IDIn, []any{w, d.IDList(ids)}
}

// ListByKey returns up to limit messages of channels keyed in [from,
// below), in key order: a range scan of the (conversation_id, x) index per
// conversation, merged by key.
func (r *MessageRepository) ListByKey(ctx context.Context, channels []domain.ChannelID, from, below int64, limit int) ([]domain.KeyedMessage, error) {
	if len(channels) == 0 || from >= below || limit <= 0 {
		return nil, nil
	}
	ids := make([]string, len(channels))
	kinds := make(map[domain.ConversationID]domain.ConversationKind, len(channels))
	for i, ch := range channels {
		ids[i] = string(ch.ID)
		kinds[ch.ID] = ch.Kind
	}
	var rows []struct {
		messageRow
		Key int64 `db:"x"`
	}
	err := r.db.SelectContext(ctx, &rows, r.db.Rebind(`
SELECT m.id, c.kind, m.conversation_id, m.seq, m.sender_id,
       COALESCE(m.persona_id, '') AS persona_id, m.content,
       COALESCE(m.client_message_id, '') AS client_message_id, m.created_at, m.x
FROM messages m
JOIN conversations c ON c.id = m.conversation_id
WHERE m.conversation_id `+r.dialect.IDIn+` AND m.x >= ? AND m.x < ?
ORDER BY m.x
LIMIT ?`), r.dialect.IDList(ids), from, below, limit)
	if err != nil {
		return nil, StoreError(ctx, r.dialect, "list messages by key", err)
	}
	out := make([]domain.KeyedMessage, 0, len(rows))
	for _, row := range rows {
		m := row.toDomain()
		if kinds[m.Channel.ID] != m.Channel.Kind {
			continue // asked for with another kind: another channel
		}
		out = append(out, domain.KeyedMessage{Message: m, Key: row.Key})
	}
	return out, nil
}
