-- The per-user log: every change of a user's memberships or read
-- positions takes the next useq of that user, in the transaction that
-- makes the change and under the lock of the user's user_logs row, so a
-- user's useqs are gap-free and in commit order. An inbox stream's cursor
-- holds a useq U meaning "every change of this user up to U has been
-- delivered"; the columns and the table below are what a read of the
-- changes after U selects (ConversationRepository.UserLog).
CREATE TABLE user_logs (
    user_id   text PRIMARY KEY,
    -- last_useq is the useq of the user's newest change, 0 when none.
    last_useq bigint NOT NULL
);

-- joined_useq is the member's useq of the join (0: joined before the log
-- existed, which no read of the log returns); joined_seq is the
-- conversation's last_seq when the member joined, read under the lock
-- that Append takes, so every message is either at most joined_seq or
-- after the join; read_useq is the useq of the last move of read_seq, 0
-- when it never moved since the log existed. Existing rows keep 0 in all
-- three: no stream has a cursor from before the log.
ALTER TABLE conversation_members ADD COLUMN joined_useq bigint NOT NULL DEFAULT 0;
ALTER TABLE conversation_members ADD COLUMN joined_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE conversation_members ADD COLUMN read_useq bigint NOT NULL DEFAULT 0;

-- user_departures keeps a row per removal of a member, since the member
-- row itself is deleted. kind and num are copied so that the row stands
-- without the conversation. Its key serves "the departures of user X
-- after useq U".
CREATE TABLE user_departures (
    user_id         text NOT NULL,
    useq            bigint NOT NULL,
    conversation_id text NOT NULL,
    kind            text NOT NULL,
    num             bigint NOT NULL,
    left_at         timestamptz NOT NULL,
    PRIMARY KEY (user_id, useq)
);
