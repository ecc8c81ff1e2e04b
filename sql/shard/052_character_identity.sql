-- Character identity (issue 18): the profile the client shows, and soft delete.
-- Appearance (RSI) stays in appearance_data (JSON) under typed keys.
ALTER TABLE characters
    ADD COLUMN IF NOT EXISTS first_name VARCHAR(32) NULL,
    ADD COLUMN IF NOT EXISTS last_name VARCHAR(32) NULL,
    ADD COLUMN IF NOT EXISTS background TEXT NULL,
    ADD COLUMN IF NOT EXISTS profession INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS alignment INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS cq_points INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS character_status INT NOT NULL DEFAULT 0,
    -- Soft delete: the row stays; character_name becomes '~<character_id>' (freeing the name) and
    -- the name it had is kept here.
    ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMP NULL,
    ADD COLUMN IF NOT EXISTS deleted_name VARCHAR(32) NULL;
-- The archive mirrors the visible columns of characters in order (INSERT ... SELECT *).
ALTER TABLE archived_characters
    ADD COLUMN IF NOT EXISTS first_name VARCHAR(32) NULL,
    ADD COLUMN IF NOT EXISTS last_name VARCHAR(32) NULL,
    ADD COLUMN IF NOT EXISTS background TEXT NULL,
    ADD COLUMN IF NOT EXISTS profession INT NULL,
    ADD COLUMN IF NOT EXISTS alignment INT NULL,
    ADD COLUMN IF NOT EXISTS cq_points INT NULL,
    ADD COLUMN IF NOT EXISTS character_status INT NULL,
    ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMP NULL,
    ADD COLUMN IF NOT EXISTS deleted_name VARCHAR(32) NULL;
