-- Abilities as the client has them (issue 18, part B). Ability ids are unsigned 32-bit (high bit
-- set), so the seed's INT is widened to INT UNSIGNED (same values, nothing renamed).
ALTER TABLE character_abilities MODIFY ability_id INT UNSIGNED NOT NULL;
-- The loadout: which known ability sits in which slot, loaded or not. The seed's key
-- (character_id, ability_id) allows one row per ability, but one ability may sit in two slots,
-- so slots are their own rows. Forgetting an ability (or deleting the character) empties its slots.
CREATE TABLE IF NOT EXISTS character_ability_slots (
    character_id INT NOT NULL,
    slot_number SMALLINT UNSIGNED NOT NULL,
    ability_id INT UNSIGNED NOT NULL,
    is_loaded BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (character_id, slot_number),
    INDEX idx_character_ability_slots_ability (character_id, ability_id),
    FOREIGN KEY (character_id, ability_id) REFERENCES character_abilities(character_id, ability_id) ON DELETE CASCADE
);
