-- The character and world state the client's spawn packets carry (issue 22, contract part four).
--
-- characters.yaw: the facing the district server sends and saves, as it sends it (Hardline
-- Dreams a yaw byte, Reality radians); round-trips exactly. The seed's rotation_x..w quaternion
-- stays for the seed's own callers. characters.pvp_flag: the PvP flag both emulators store.
-- Current/maximum health and inner strength are the seed's columns (health, max_health, ...).
ALTER TABLE characters
    ADD COLUMN IF NOT EXISTS yaw DOUBLE NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS pvp_flag BOOLEAN NOT NULL DEFAULT FALSE;
-- The archive mirrors the visible columns of characters in order (INSERT ... SELECT *).
ALTER TABLE archived_characters
    ADD COLUMN IF NOT EXISTS yaw DOUBLE NULL,
    ADD COLUMN IF NOT EXISTS pvp_flag BOOLEAN NULL;

-- DEVIATION: positions are DOUBLE, not the seed's FLOAT. The client and both emulators carry
-- three doubles; FLOAT keeps 24 bits of mantissa (about 0.002 off at x = 17,000), so a save then
-- a spawn would move the character. Widening keeps every stored value.
ALTER TABLE characters
    MODIFY position_x DOUBLE DEFAULT 0,
    MODIFY position_y DOUBLE DEFAULT 0,
    MODIFY position_z DOUBLE DEFAULT 0;
ALTER TABLE archived_characters
    MODIFY position_x DOUBLE NULL,
    MODIFY position_y DOUBLE NULL,
    MODIFY position_z DOUBLE NULL;
ALTER TABLE hardlines
    MODIFY position_x DOUBLE NOT NULL,
    MODIFY position_y DOUBLE NOT NULL,
    MODIFY position_z DOUBLE NOT NULL,
    ADD COLUMN IF NOT EXISTS yaw DOUBLE NOT NULL DEFAULT 0;

-- characters.save writes the money difference of an absolute save as a ledger row of type
-- 'server_save'. The ENUM gains it at its end, built from the column's current definition so
-- values another migration added are kept whatever order the files ran in.
SET @mxo_save_type = (SELECT COLUMN_TYPE FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'transaction_history' AND COLUMN_NAME = 'transaction_type');
SET @mxo_save_type_ddl = IF(@mxo_save_type LIKE '%''server_save''%', 'DO 0',
    CONCAT('ALTER TABLE transaction_history MODIFY transaction_type ',
           LEFT(@mxo_save_type, CHAR_LENGTH(@mxo_save_type) - 1),
           ',''server_save'') NOT NULL'));
PREPARE mxo_save_type_stmt FROM @mxo_save_type_ddl;
EXECUTE mxo_save_type_stmt;
DEALLOCATE PREPARE mxo_save_type_stmt;

-- GM bookmarks (Reality's `@bookmark`/`@gotomark`): named places a character can return to.
-- Owned by the character: they move with it between shards (src/schema/character-rows.ts).
CREATE TABLE IF NOT EXISTS character_bookmarks (
    character_id INT NOT NULL,
    bookmark_name VARCHAR(31) NOT NULL,
    district_id INT NOT NULL,
    position_x DOUBLE NOT NULL,
    position_y DOUBLE NOT NULL,
    position_z DOUBLE NOT NULL,
    yaw DOUBLE NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (character_id, bookmark_name),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE
);
