-- Each character names its world (global worlds.world_id; no cross-tier foreign key).
ALTER TABLE characters ADD COLUMN IF NOT EXISTS world_id INT NULL;
-- The archive mirrors the visible columns of characters in order (INSERT ... SELECT *).
ALTER TABLE archived_characters ADD COLUMN IF NOT EXISTS world_id INT NULL;
