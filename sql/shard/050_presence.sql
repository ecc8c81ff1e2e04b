-- Presence (issue 18): the fencing token of the character's current claim, kept on the
-- character's row and changed in the same two-phase commit as the claim on global. Fenced
-- writes (world.updatePosition with a fencingToken) match only while it is unchanged, also when
-- they are flushed later from the write-behind buffer. NULL: no claim.
ALTER TABLE characters ADD COLUMN IF NOT EXISTS presence_token BIGINT NULL;
-- The archive mirrors the visible columns of characters in order (INSERT ... SELECT *).
ALTER TABLE archived_characters ADD COLUMN IF NOT EXISTS presence_token BIGINT NULL;
