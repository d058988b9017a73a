-- relay_append_one stores one message: what relay_append (0006) does for a
-- batch of one, the common case (appends to a conversation are batched
-- only while another batch of it is being stored), in two statements
-- instead of one per check and with scalar parameters instead of arrays.
-- adapters/postgres's AppendBatch calls it for a batch of one. It answers
-- the message's status ('stored', 'not_found', 'not_member' or
-- 'duplicate', as relay_append's), its seq and commit key (0 unless
-- stored), and the count of member removals committed before it.
--
-- Why it is exact, as relay_append: the UPDATE waits for, then holds, the
-- conversation's row until the caller's transaction ends, and the INSERT
-- that follows reads the membership with a snapshot taken after the lock
-- was granted (a VOLATILE function under READ COMMITTED). AddMember and
-- RemoveMember take the same row lock, so the membership cannot change
-- until the caller commits. ON CONFLICT DO NOTHING on the
-- (sender_id, client_message_id) key refuses a client message id already
-- used without raising an error (a conflicting message still being
-- committed is waited for). A refused message reads which check refused
-- it, membership first as in relay_append, and gives its seq and key back;
-- nobody can observe them while the row is locked.
CREATE FUNCTION relay_append_one(
    p_conversation text, p_kind text, p_id text, p_sender text, p_persona text,
    p_content text, p_client_id text, p_created_at timestamptz, p_check boolean,
    OUT status text, OUT seq bigint, OUT key bigint, OUT removals bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    UPDATE conversations c
       SET last_seq = c.last_seq + 1,
           last_x = GREATEST(CAST(CAST(pg_current_xact_id() AS text) AS bigint), c.last_x + 1)
     WHERE c.id = p_conversation AND c.kind = p_kind
    RETURNING c.removals, c.last_seq, c.last_x INTO removals, seq, key;
    IF NOT FOUND THEN
        status := 'not_found';
        seq := 0;
        key := 0;
        removals := 0;
        RETURN;
    END IF;
    INSERT INTO messages (id, conversation_id, seq, x, sender_id, persona_id,
                          content, client_message_id, created_at)
    SELECT p_id, p_conversation, seq, key, p_sender, NULLIF(p_persona, ''),
           p_content, NULLIF(p_client_id, ''), p_created_at
     WHERE NOT p_check OR EXISTS (
               SELECT 1 FROM conversation_members m
                WHERE m.conversation_id = p_conversation AND m.user_id = p_sender)
    ON CONFLICT (sender_id, client_message_id) DO NOTHING;
    IF FOUND THEN
        status := 'stored';
        RETURN;
    END IF;
    status := CASE WHEN p_check AND NOT EXISTS (
                       SELECT 1 FROM conversation_members m
                        WHERE m.conversation_id = p_conversation AND m.user_id = p_sender)
                   THEN 'not_member' ELSE 'duplicate' END;
    -- As relay_append with nothing stored: last_x returns to the newest
    -- message's key (0 before any; keys older than 0005 are negative).
    UPDATE conversations c
       SET last_seq = seq - 1,
           last_x = GREATEST(0, (SELECT max(m.x) FROM messages m WHERE m.conversation_id = p_conversation))
     WHERE c.id = p_conversation AND c.kind = p_kind;
    seq := 0;
    key := 0;
END
$$;
