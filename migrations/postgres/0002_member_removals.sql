-- removals counts the members ever removed from a conversation. Streams
-- compare it with the count they know of: an instance that missed a
-- removal's notification (its publisher crashed, or the notifier was
-- down) finds out from the store within one check interval, and stops
-- streaming the group to the member who left.
ALTER TABLE conversations ADD COLUMN removals bigint NOT NULL DEFAULT 0;
