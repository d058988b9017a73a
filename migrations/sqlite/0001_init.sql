-- Initial schema: conversations, their members and their messages; the
-- SQLite twin of postgres/0001_init.sql.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC (the adapter's
-- DSN sets _time_integer_format=unix_micro; the TIMESTAMP declaration makes
-- the driver read them back as times): exact to the microsecond like
-- PostgreSQL's timestamptz, and ordered as numbers.

CREATE TABLE conversations (
    -- num is the compact key that resume cursors carry instead of the id:
    -- an alias of the rowid, which AUTOINCREMENT never reuses.
    num        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('dm', 'group')),
    name       TEXT,
    -- dm_key is the two sorted member ids of a direct message joined by a
    -- space (user ids never contain one); its unique index makes creating
    -- the same pair twice yield one conversation.
    dm_key     TEXT UNIQUE,
    -- last_seq is the seq of the newest message. Append increments it
    -- holding the database's write lock, which makes seqs gap-free and
    -- commit-ordered.
    last_seq   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'dm') = (dm_key IS NOT NULL))
);

CREATE TABLE conversation_members (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    joined_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

-- Serves "the conversations of user X" (ListForMember).
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id, conversation_id);

CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL REFERENCES conversations (id),
    seq               INTEGER NOT NULL CHECK (seq > 0),
    sender_id         TEXT NOT NULL,
    persona_id        TEXT,
    content           TEXT NOT NULL,
    -- NULL when the client sent none; NULLs never collide in the unique
    -- index below, so only real idempotency keys are deduplicated.
    client_message_id TEXT,
    created_at        TIMESTAMP NOT NULL,
    -- Also the index of history paging and resume: a range scan on
    -- (conversation_id, seq).
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_message_id)
);
