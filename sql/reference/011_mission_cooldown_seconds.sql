-- The contract takes a mission's cooldown in seconds; the seed's cooldown_period is in whole
-- hours. Both are kept: cooldown_period is rounded up from cooldown_seconds, which the library reads.
ALTER TABLE mission_templates ADD COLUMN IF NOT EXISTS cooldown_seconds INT NOT NULL DEFAULT 0;
UPDATE mission_templates SET cooldown_seconds = cooldown_period * 3600 WHERE cooldown_seconds = 0 AND cooldown_period > 0;
