-- x is a message's commit key: strictly increasing with seq within a
-- conversation (the SQLite twin of postgres/0005_commit_keys.sql). SQLite
-- has one writer at a time (transactions begin IMMEDIATE), so a global
-- counter is exact: message_clock.last_x is the x of the newest message
-- committed anywhere, and Append sets a new message's x, and its
-- conversation's last_x, to message_clock.last_x + 1. The trigger below
-- moves the clock in the same statement, so Append still advances its
-- conversation with one UPDATE … RETURNING. message_clock.last_x + 1 is
-- then a stable watermark: every message with x below it is committed,
-- and every later one gets a larger x.
--
-- Messages stored before this migration get x = seq - last_seq - 1, from
-- -last_seq to -1: increasing with seq per conversation, and below every
-- future x (the clock starts at 0) and every watermark.
ALTER TABLE conversations ADD COLUMN last_x INTEGER NOT NULL DEFAULT 0;

-- SQLite adds a NOT NULL column only with a default; Append always sets x.
ALTER TABLE messages ADD COLUMN x INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET x = seq - (SELECT c.last_seq FROM conversations c
                               WHERE c.id = messages.conversation_id) - 1;

-- Serves PrefixAt: the newest message of a conversation below a watermark
-- is one backward step of this index.
CREATE UNIQUE INDEX messages_conversation_x_idx ON messages (conversation_id, x);

CREATE TABLE message_clock (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    last_x INTEGER NOT NULL
);
INSERT INTO message_clock (id, last_x) VALUES (1, 0);

CREATE TRIGGER conversations_last_x_moves_clock
AFTER UPDATE OF last_x ON conversations
BEGIN
    UPDATE message_clock SET last_x = NEW.last_x WHERE id = 1;
END;
