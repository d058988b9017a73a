-- removals counts the members ever removed from a conversation. Streams
-- compare it with the count they know of: an instance that missed a
-- removal's notification finds out from the store within one check
-- interval, and stops streaming the group to the member who left.
-- RemoveMember bumps it in the transaction that deletes the member row,
-- only when a row was deleted.
ALTER TABLE conversations ADD COLUMN removals INTEGER NOT NULL DEFAULT 0;
