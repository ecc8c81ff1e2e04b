-- Reference tier: content data defined once (master copy on the global primary) and copied,
-- row for row, to every shard primary so that shard-local joins and foreign keys work.
-- The migrator applies this tier BEFORE the global and shard tiers on every node, because
-- tables there have foreign keys to the tables below.
--
-- Column lists and types are the seed's, unchanged. Ids keep AUTO_INCREMENT (as in the seed):
-- the library inserts rows on the global master with the generated id, then copies them to the
-- shards with that explicit id, so ids agree on every node.
-- CREATE ... IF NOT EXISTS so a file that failed half-way can simply be re-run after a fix.

-- Item templates and definitions
CREATE TABLE IF NOT EXISTS item_templates (
    template_id INT PRIMARY KEY AUTO_INCREMENT,
    item_name VARCHAR(64) NOT NULL,
    item_description TEXT,
    item_type ENUM('weapon', 'clothing', 'consumable', 'program', 'key_item', 'misc') NOT NULL,
    item_subtype VARCHAR(32), -- pistol, rifle, shirt, pants, etc.

    -- Item properties
    quality ENUM('common', 'uncommon', 'rare', 'epic', 'legendary') DEFAULT 'common',
    item_level TINYINT DEFAULT 1,
    requirements JSON NULL, -- Level, faction, ability requirements

    -- Stats and effects
    stat_bonuses JSON NULL, -- {"vitality": 5, "accuracy": 10, ...}
    special_effects JSON NULL, -- Special item properties

    -- Economic properties
    base_value INT DEFAULT 0,
    vendor_price INT DEFAULT 0,
    stack_size INT DEFAULT 1,

    -- Flags and restrictions
    is_tradeable BOOLEAN DEFAULT TRUE,
    is_droppable BOOLEAN DEFAULT TRUE,
    is_sellable BOOLEAN DEFAULT TRUE,
    bind_on_pickup BOOLEAN DEFAULT FALSE,
    bind_on_equip BOOLEAN DEFAULT FALSE,

    -- Visual and technical
    model_file VARCHAR(128),
    texture_file VARCHAR(128),
    icon_file VARCHAR(128),

    -- Metadata
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    created_by INT NULL,

    INDEX idx_item_type (item_type, item_subtype),
    INDEX idx_item_quality (quality),
    INDEX idx_item_level (item_level)
);

-- Mission templates and definitions
CREATE TABLE IF NOT EXISTS mission_templates (
    mission_id INT PRIMARY KEY AUTO_INCREMENT,
    mission_name VARCHAR(128) NOT NULL,
    mission_description TEXT NOT NULL,

    -- Mission classification
    mission_type ENUM('story', 'side', 'daily', 'faction', 'organization', 'event') NOT NULL,
    difficulty_level TINYINT DEFAULT 1,
    recommended_players TINYINT DEFAULT 1,

    -- Requirements
    level_requirement TINYINT DEFAULT 1,
    faction_requirement ENUM('zion', 'machine', 'merovingian') NULL,
    prerequisite_missions JSON NULL, -- Array of required mission IDs
    required_items JSON NULL, -- Items needed to start/complete

    -- Mission structure
    objectives JSON NOT NULL, -- Array of objective definitions
    completion_requirements JSON NOT NULL, -- What constitutes completion
    failure_conditions JSON NULL, -- What causes mission failure

    -- Rewards
    experience_reward INT DEFAULT 0,
    money_reward INT DEFAULT 0,
    item_rewards JSON NULL, -- Array of item template IDs and quantities
    faction_standing_rewards JSON NULL, -- Faction standing changes

    -- Location and NPCs
    start_location JSON NULL, -- District and coordinates
    contact_npc_id INT NULL,
    involved_npcs JSON NULL, -- NPCs involved in mission

    -- Mission flow
    auto_accept BOOLEAN DEFAULT FALSE,
    auto_complete BOOLEAN DEFAULT FALSE,
    repeatable BOOLEAN DEFAULT FALSE,
    cooldown_period INT DEFAULT 0, -- Hours between repeats

    -- Administrative
    is_active BOOLEAN DEFAULT TRUE,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    created_by INT NULL,

    INDEX idx_mission_type (mission_type),
    INDEX idx_mission_level (level_requirement),
    INDEX idx_mission_faction (faction_requirement),
    INDEX idx_mission_active (is_active)
);

-- Districts and areas. After migrate, every district named in the cluster config has a row here
-- (the library inserts a placeholder where content has not defined the district yet).
CREATE TABLE IF NOT EXISTS districts (
    district_id INT PRIMARY KEY AUTO_INCREMENT,
    district_name VARCHAR(64) UNIQUE NOT NULL,
    district_type ENUM('downtown', 'international', 'slums', 'construct', 'special') NOT NULL,

    -- District properties
    max_players INT DEFAULT 50,
    pvp_enabled BOOLEAN DEFAULT FALSE,
    difficulty_level TINYINT DEFAULT 1,

    -- Geographic bounds
    min_x FLOAT NOT NULL,
    max_x FLOAT NOT NULL,
    min_y FLOAT NOT NULL,
    max_y FLOAT NOT NULL,
    min_z FLOAT NOT NULL,
    max_z FLOAT NOT NULL,

    -- District settings
    weather_type VARCHAR(32) DEFAULT 'clear',
    lighting_preset VARCHAR(32) DEFAULT 'day',
    ambient_sound VARCHAR(128) NULL,
    background_music VARCHAR(128) NULL,

    -- Access control
    access_requirements JSON NULL, -- Level, faction, item requirements
    instance_type ENUM('public', 'private', 'guild', 'event') DEFAULT 'public',

    -- Status
    is_active BOOLEAN DEFAULT TRUE,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,

    INDEX idx_district_type (district_type),
    INDEX idx_district_active (is_active)
);

-- New (not in the seed): two-phase-commit decision records. Every primary has this table: the
-- coordinator's "last agent" branch inserts its 'commit' record in the same local transaction
-- that commits that branch (the commit point), and recovery inserts an 'abort' record under the
-- same gtrid before rolling a prepared branch back. The primary key on gtrid is the fence:
-- exactly one of the two inserts can succeed.
CREATE TABLE IF NOT EXISTS twopc_decisions (
    gtrid VARCHAR(64) NOT NULL PRIMARY KEY,
    decision ENUM('commit', 'abort') NOT NULL,
    operation VARCHAR(32) NOT NULL DEFAULT '',
    decided_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    INDEX idx_twopc_decisions_decided_at (decided_at)
);
