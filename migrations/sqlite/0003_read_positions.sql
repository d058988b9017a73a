-- read_seq is the member's read position in the conversation: the seq of
-- the last message they have read, 0 when none. MarkRead only ever raises
-- it, clamped to the conversation's last_seq. Unread counts are a range
-- scan of messages (conversation_id, seq) after it, so no index is added.
ALTER TABLE conversation_members ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;
