-- The per-user log; the SQLite twin of postgres/0004_user_logs.sql. Every
-- change of a user's memberships or read positions takes the next useq of
-- that user in the transaction that makes the change (which holds the
-- database's write lock since BEGIN), so a user's useqs are gap-free and
-- in commit order.
CREATE TABLE user_logs (
    user_id   TEXT PRIMARY KEY,
    -- last_useq is the useq of the user's newest change, 0 when none.
    last_useq INTEGER NOT NULL
);

-- joined_useq is the member's useq of the join (0: joined before the log
-- existed, which no read of the log returns); joined_seq is the
-- conversation's last_seq when the member joined; read_useq is the useq of
-- the last move of read_seq, 0 when it never moved since the log existed.
-- Existing rows keep 0 in all three: no stream has a cursor from before
-- the log.
ALTER TABLE conversation_members ADD COLUMN joined_useq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversation_members ADD COLUMN joined_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversation_members ADD COLUMN read_useq INTEGER NOT NULL DEFAULT 0;

-- user_departures keeps a row per removal of a member, since the member
-- row itself is deleted; kind and num are copied so that the row stands
-- without the conversation.
CREATE TABLE user_departures (
    user_id         TEXT NOT NULL,
    useq            INTEGER NOT NULL,
    conversation_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    num             INTEGER NOT NULL,
    left_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, useq)
);
