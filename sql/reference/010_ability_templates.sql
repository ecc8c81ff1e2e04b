-- Ability definitions (reference data: the same rows on global and every shard). The seed has
-- character_abilities but nothing that says what an ability requires; abilities.learn checks
-- these columns. ability_id is the game's own id (no AUTO_INCREMENT), as character_abilities uses it.
CREATE TABLE IF NOT EXISTS ability_templates (
    ability_id INT PRIMARY KEY,
    ability_name VARCHAR(64) NOT NULL,
    ability_description TEXT NULL,
    level_requirement TINYINT NOT NULL DEFAULT 1,
    archetype_requirement ENUM('hacker', 'martial_artist', 'spy') NULL,
    faction_requirement ENUM('zion', 'machine', 'merovingian') NULL,
    prerequisite_abilities JSON NULL, -- Array of ability ids the character must know first
    max_ability_level TINYINT NOT NULL DEFAULT 1,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    INDEX idx_ability_level (level_requirement)
);
