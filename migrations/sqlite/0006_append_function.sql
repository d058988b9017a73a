-- PostgreSQL's 0006 adds relay_append, which stores a batch of messages in
-- one statement. SQLite has no stored functions and needs none: the
-- store runs the same steps as statements in one transaction, in
-- process (adapters/sqlstore, appendBatchInTx). This file keeps the two
-- folders' versions in step.
SELECT 1;
