-- Login and world select (contract part four).
-- Accounts without an email: neither MxO emulator keeps one (Reality's `users` and mxo-hd's
-- `users` have none), so register/importLegacy take it as optional. The UNIQUE index stays: InnoDB
-- allows any number of NULLs in it. A password reset by email never matches NULL (no token).
ALTER TABLE accounts MODIFY email VARCHAR(255) NULL;

-- The client's character status byte (Reality AuthSocket.cpp:540 "ok, in transit, banned";
-- shard characters.character_status, set with characters.setProfile), kept in the directory
-- beside world_id and district_id so the login roster is one read on global. Written in the same
-- two-phase commit as the shard row; a directory row written before this file reads 0.
ALTER TABLE character_directory ADD COLUMN IF NOT EXISTS character_status INT NOT NULL DEFAULT 0;
