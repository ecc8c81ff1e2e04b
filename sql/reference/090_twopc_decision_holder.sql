-- The session that wrote a commit record (its connection id on this node). A recoverer whose
-- fence waits on an uncommitted record reads it (READ UNCOMMITTED) and ends that session, which
-- needs no privilege when both run as the same account: the application account has no PROCESS
-- (information_schema.INNODB_TRX shows nothing without it).
ALTER TABLE twopc_decisions ADD COLUMN IF NOT EXISTS holder_thread BIGINT UNSIGNED NULL;
