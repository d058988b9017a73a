-- PostgreSQL's 0007 adds relay_append_one, relay_append for a single
-- message. The SQLite store has no stored functions (see 0006); this file
-- keeps the two folders' versions in step.
SELECT 1;
