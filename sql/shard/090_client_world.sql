-- The world as the client sees it (issue 18, part C). Hardlines carry the client's hardline
-- number, unique within their district; world objects carry the static object id of the
-- district's world file, unique within their district (both unsigned 32-bit, as the client sends them).
ALTER TABLE hardlines ADD COLUMN IF NOT EXISTS hardline_number INT UNSIGNED NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_hardlines_district_number ON hardlines (district_id, hardline_number);
ALTER TABLE world_objects ADD COLUMN IF NOT EXISTS static_object_id INT UNSIGNED NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_world_objects_district_static ON world_objects (district_id, static_object_id);

-- Doors are world objects too: the ENUM gains 'door' at its end, built from the column's current
-- definition so values another migration added are kept whatever order the files ran in.
SET @mxo_object_type = (SELECT COLUMN_TYPE FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'world_objects' AND COLUMN_NAME = 'object_type');
SET @mxo_object_type_ddl = IF(@mxo_object_type LIKE '%''door''%', 'DO 0',
    CONCAT('ALTER TABLE world_objects MODIFY object_type ',
           LEFT(@mxo_object_type, CHAR_LENGTH(@mxo_object_type) - 1), ',''door'') NOT NULL'));
PREPARE mxo_object_type_stmt FROM @mxo_object_type_ddl;
EXECUTE mxo_object_type_stmt;
DEALLOCATE PREPARE mxo_object_type_stmt;

-- The hardlines a character has discovered, by the client's (district, number). Owned by the
-- character: it moves with it between shards (src/sql/character-rows.ts MOVING_TABLES).
CREATE TABLE IF NOT EXISTS character_known_hardlines (
    character_id INT NOT NULL,
    district_id INT NOT NULL,
    hardline_number INT UNSIGNED NOT NULL,
    discovered_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (character_id, district_id, hardline_number),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE
);
