-- relay_append stores a batch of messages of one conversation in one
-- statement (one round trip, and one commit when called outside a
-- transaction): adapters/postgres's AppendBatch calls it, and
-- adapters/sqlstore documents the contract (AppendBatchFunc). The arrays
-- are parallel, one element per message, in the order their seqs are
-- given; an empty persona or client message id means none. It answers one
-- row: per message, a status ('stored', with its seq and commit key;
-- 'not_found': no such conversation, nothing stored; 'not_member';
-- 'duplicate': its client message id was used already, before or earlier
-- in the batch), and the count of member removals committed before the
-- batch. A refused message uses no seq.
--
-- Why it is exact: the UPDATE waits for, then holds, the conversation's
-- row until the caller's transaction ends, so appends and RemoveMember
-- (which updates the same row) go one at a time; and in a VOLATILE
-- function under READ COMMITTED each statement takes a fresh snapshot, so
-- the checks after the UPDATE see every removal and every message
-- committed before the lock was granted. The UPDATE reserves a seq and a
-- commit key for every message (GREATEST(xid, last_x + 1), then one more
-- per message, as Append did one at a time); refused messages give theirs
-- back before anything is inserted, which nobody can observe while the
-- row is locked. Only PostgreSQL has this function; the SQLite store runs
-- the same steps as statements.
CREATE FUNCTION relay_append(
    p_conversation text, p_kind text, p_ids text[], p_senders text[], p_personas text[],
    p_contents text[], p_client_ids text[], p_created_at timestamptz[], p_check boolean[],
    OUT statuses text[], OUT seqs bigint[], OUT keys bigint[], OUT removals bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    n int := cardinality(p_ids);
    v_ok int[] := '{}';
    v_last_seq bigint;
    v_last_x bigint;
    v_member boolean;
    v_used boolean;
    k int;
BEGIN
    statuses := array_fill('stored'::text, ARRAY[n]);
    seqs := array_fill(0::bigint, ARRAY[n]); -- 0 for a refused message
    keys := array_fill(0::bigint, ARRAY[n]);
    UPDATE conversations c
       SET last_seq = c.last_seq + n,
           last_x = GREATEST(CAST(CAST(pg_current_xact_id() AS text) AS bigint), c.last_x + 1) + n - 1
     WHERE c.id = p_conversation AND c.kind = p_kind
    RETURNING c.removals, c.last_seq, c.last_x INTO removals, v_last_seq, v_last_x;
    IF NOT FOUND THEN
        statuses := array_fill('not_found'::text, ARRAY[n]);
        RETURN;
    END IF;
    FOR i IN 1..n LOOP
        SELECT NOT p_check[i] OR EXISTS (
                   SELECT 1 FROM conversation_members m
                    WHERE m.conversation_id = p_conversation AND m.user_id = p_senders[i]),
               p_client_ids[i] <> '' AND EXISTS (
                   SELECT 1 FROM messages m
                    WHERE m.sender_id = p_senders[i] AND m.client_message_id = p_client_ids[i])
          INTO v_member, v_used;
        IF NOT v_member THEN
            statuses[i] := 'not_member';
            CONTINUE;
        END IF;
        IF NOT v_used AND p_client_ids[i] <> '' THEN
            FOREACH k IN ARRAY v_ok LOOP
                v_used := v_used OR (p_senders[k] = p_senders[i] AND p_client_ids[k] = p_client_ids[i]);
            END LOOP;
        END IF;
        IF v_used THEN
            statuses[i] := 'duplicate';
        ELSE
            v_ok := v_ok || i;
        END IF;
    END LOOP;
    k := cardinality(v_ok);
    IF k < n THEN
        -- Give back what the refused messages reserved. With none stored,
        -- last_x returns to the newest message's key (0 before any; keys
        -- of messages older than migration 0005 are negative).
        v_last_seq := v_last_seq - (n - k);
        v_last_x := CASE WHEN k > 0 THEN v_last_x - (n - k) ELSE GREATEST(0, (
                        SELECT max(m.x) FROM messages m WHERE m.conversation_id = p_conversation)) END;
        UPDATE conversations c SET last_seq = v_last_seq, last_x = v_last_x
         WHERE c.id = p_conversation AND c.kind = p_kind;
    END IF;
    IF k = 0 THEN
        RETURN;
    END IF;
    FOR p IN 1..k LOOP
        seqs[v_ok[p]] := v_last_seq - k + p;
        keys[v_ok[p]] := v_last_x - k + p;
    END LOOP;
    INSERT INTO messages (id, conversation_id, seq, x, sender_id, persona_id,
                          content, client_message_id, created_at)
    SELECT p_ids[i], p_conversation, seqs[i], keys[i], p_senders[i], NULLIF(p_personas[i], ''),
           p_contents[i], NULLIF(p_client_ids[i], ''), p_created_at[i]
      FROM unnest(v_ok) AS i;
END
$$;
