-- Initial schema: conversations, their members and their messages.

CREATE TABLE conversations (
    id         text PRIMARY KEY,
    -- num is the compact key that resume cursors carry instead of the id.
    num        bigserial UNIQUE,
    kind       text NOT NULL CHECK (kind IN ('dm', 'group')),
    name       text,
    -- dm_key is the two sorted member ids of a direct message joined by a
    -- space (user ids never contain one); its unique index makes creating
    -- the same pair twice, even concurrently, yield one conversation.
    dm_key     text UNIQUE,
    -- last_seq is the seq of the newest message. Append increments it
    -- under the row lock, which makes seqs gap-free and commit-ordered.
    last_seq   bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    CHECK ((kind = 'dm') = (dm_key IS NOT NULL))
);

CREATE TABLE conversation_members (
    conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         text NOT NULL,
    joined_at       timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

-- Serves "the conversations of user X" (ListForMember).
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id, conversation_id);

CREATE TABLE messages (
    id                text PRIMARY KEY,
    conversation_id   text NOT NULL REFERENCES conversations (id),
    seq               bigint NOT NULL CHECK (seq > 0),
    sender_id         text NOT NULL,
    persona_id        text,
    content           text NOT NULL,
    -- NULL when the client sent none; NULLs never collide in the unique
    -- index below, so only real idempotency keys are deduplicated.
    client_message_id text,
    created_at        timestamptz NOT NULL,
    -- Also the index of history paging and resume: a range scan on
    -- (conversation_id, seq).
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_message_id)
);
