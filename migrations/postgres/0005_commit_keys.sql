-- x is a message's commit key: strictly increasing with seq within a
-- conversation, and never below the xid of the transaction that appended
-- it. Append sets it, under the conversation's row lock, to
-- GREATEST(pg_current_xact_id(), last_x + 1), and keeps the conversation's
-- last_x at the newest message's x. Because every x is at least its own
-- transaction's xid, pg_snapshot_xmin(pg_current_snapshot()) is a stable
-- watermark: every message with x below it is committed (or will never
-- be), and every message committed later has x at or above it.
--
-- Messages stored before this migration get x = seq - last_seq - 1, from
-- -last_seq to -1: increasing with seq per conversation, and below every
-- future x (an xid is at least 3) and so below every watermark; they are
-- all committed. last_x = 0 for every conversation keeps that ordering.
--
-- The UPDATE rewrites every message row while holding the table's lock:
-- on a large table, run this in a quiet moment. An instance that still
-- runs the previous release fails its appends (x is NOT NULL) until it is
-- replaced, instead of storing a message without a key.
ALTER TABLE conversations ADD COLUMN last_x bigint NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN x bigint;
UPDATE messages m SET x = m.seq - c.last_seq - 1
FROM conversations c WHERE c.id = m.conversation_id;
ALTER TABLE messages ALTER COLUMN x SET NOT NULL;

-- Serves PrefixAt: the newest message of a conversation below a watermark
-- is one backward step of this index, and seq is read from it alone.
CREATE UNIQUE INDEX messages_conversation_x_idx ON messages (conversation_id, x) INCLUDE (seq);
