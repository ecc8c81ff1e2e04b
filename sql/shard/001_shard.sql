-- Shard tier: applied to every shard primary (replicas get it by replication). The reference
-- tier (districts, item_templates, mission_templates, twopc_decisions) is applied to the node
-- first, so shard-local foreign keys to those tables resolve.
--
-- Deviations from the seed are marked "DEVIATION:" with the reason. The general rules:
-- * ids that can leave the shard (character_id, item_id, trade_id) are handed out cluster-wide
--   (global character_directory / id_sequences), so those columns have no AUTO_INCREMENT here;
-- * nothing on a shard has a foreign key to a global table (accounts, character_directory);
-- * event records (trades, transactions, combat, interlock, logs, metrics) have no foreign key
--   to characters: a character may move to another shard, and the move (a delete here) must
--   never cascade-delete or rewrite the history it leaves behind. The library enforces that the
--   named characters exist when it writes the event.
-- CREATE ... IF NOT EXISTS / OR REPLACE so a file that failed half-way can be re-run after a fix.

-- =====================================================================================
-- Characters and the tables that move with them (their home shard)
-- =====================================================================================

-- Character base information
CREATE TABLE IF NOT EXISTS characters (
    -- DEVIATION: no AUTO_INCREMENT; the id is allocated by the global character_directory and
    -- stays the same when the character's rows move to another shard.
    character_id INT PRIMARY KEY,
    -- DEVIATION: no FK to accounts (a global table); character_directory.account_id carries
    -- the seed's ON DELETE CASCADE, and account deletion removes the shard rows atomically.
    account_id INT NOT NULL,
    -- Unique on this shard as in the seed; cluster-wide uniqueness is character_directory's.
    character_name VARCHAR(32) UNIQUE NOT NULL,

    -- Character appearance and basics
    archetype ENUM('hacker', 'martial_artist', 'spy') NOT NULL,
    gender ENUM('male', 'female') NOT NULL,
    appearance_data JSON NOT NULL, -- Customization options

    -- Character progression
    level TINYINT DEFAULT 1,
    experience INT DEFAULT 0,

    -- Attributes
    vitality TINYINT DEFAULT 20,
    focus TINYINT DEFAULT 20,
    perception TINYINT DEFAULT 20,
    reason TINYINT DEFAULT 20,
    belief TINYINT DEFAULT 0,

    -- Derived stats
    health INT DEFAULT 200,
    inner_strength INT DEFAULT 160,
    max_health INT DEFAULT 200,
    max_inner_strength INT DEFAULT 160,

    -- Location and status
    district_id INT DEFAULT 1,
    position_x FLOAT DEFAULT 0,
    position_y FLOAT DEFAULT 0,
    position_z FLOAT DEFAULT 0,
    rotation_x FLOAT DEFAULT 0,
    rotation_y FLOAT DEFAULT 0,
    rotation_z FLOAT DEFAULT 0,
    rotation_w FLOAT DEFAULT 1,

    -- Faction and social
    faction ENUM('zion', 'machine', 'merovingian', 'neutral') DEFAULT 'neutral',
    -- DEVIATION: kept as columns (the seed has them) but forced NULL by CHECKs below:
    -- membership is stored once, in the global organization_members / crew_members tables,
    -- which are the truth. Two copies on two servers would drift apart.
    organization_id INT NULL,
    crew_id INT NULL,

    -- Character state
    is_online BOOLEAN DEFAULT FALSE,
    last_login TIMESTAMP NULL,
    total_playtime INT DEFAULT 0,
    character_flags INT DEFAULT 0,

    -- Timestamps
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,

    -- DEVIATION (new column): the character's balance. The seed moves money in trades,
    -- transaction_history and UpdateEconomyMetrics (SUM(money)) but has no balance column.
    -- Last in the column list; archived_characters mirrors this order for INSERT ... SELECT *.
    money BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT chk_characters_money_nonnegative CHECK (money >= 0),
    CONSTRAINT chk_characters_organization_id_unused CHECK (organization_id IS NULL),
    CONSTRAINT chk_characters_crew_id_unused CHECK (crew_id IS NULL),
    INDEX idx_character_name (character_name),
    INDEX idx_account_characters (account_id),
    INDEX idx_character_location (district_id, position_x, position_y, position_z),
    INDEX idx_character_faction (faction),
    INDEX idx_online_characters (is_online, last_login)
);

-- Character statistics and achievements
CREATE TABLE IF NOT EXISTS character_statistics (
    character_id INT PRIMARY KEY,

    -- Combat statistics
    total_kills INT DEFAULT 0,
    total_deaths INT DEFAULT 0,
    player_kills INT DEFAULT 0,
    npc_kills INT DEFAULT 0,
    interlock_wins INT DEFAULT 0,
    interlock_losses INT DEFAULT 0,

    -- Mission statistics
    missions_completed INT DEFAULT 0,
    missions_failed INT DEFAULT 0,
    story_missions_completed INT DEFAULT 0,
    daily_missions_completed INT DEFAULT 0,

    -- Social statistics
    players_helped INT DEFAULT 0,
    crews_joined INT DEFAULT 0,
    events_participated INT DEFAULT 0,

    -- Economic statistics
    money_earned BIGINT DEFAULT 0,
    money_spent BIGINT DEFAULT 0,
    items_traded INT DEFAULT 0,

    -- Exploration statistics
    districts_visited INT DEFAULT 0,
    hardlines_discovered INT DEFAULT 0,
    secrets_found INT DEFAULT 0,

    -- Skill usage statistics
    abilities_used JSON NULL, -- {"karate": 1500, "hacking": 890, ...}

    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE
);

-- Character abilities and skills
CREATE TABLE IF NOT EXISTS character_abilities (
    character_id INT NOT NULL,
    ability_id INT NOT NULL,
    ability_level TINYINT DEFAULT 1,
    mastery_points INT DEFAULT 0,
    mastery_percentage FLOAT DEFAULT 0.0,
    times_used INT DEFAULT 0,
    last_used TIMESTAMP NULL,

    PRIMARY KEY (character_id, ability_id),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    INDEX idx_character_abilities (character_id),
    INDEX idx_ability_mastery (character_id, mastery_percentage)
);

-- Character faction standings
CREATE TABLE IF NOT EXISTS character_faction_standings (
    character_id INT NOT NULL,
    faction ENUM('zion', 'machine', 'merovingian') NOT NULL,
    standing_points INT DEFAULT 0, -- -1000 to +1000
    reputation_level ENUM('hostile', 'unfriendly', 'neutral', 'friendly', 'ally', 'champion') DEFAULT 'neutral',
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,

    PRIMARY KEY (character_id, faction),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    INDEX idx_faction_standings (faction, standing_points)
);

-- Character inventory
CREATE TABLE IF NOT EXISTS character_inventory (
    -- DEVIATION: no AUTO_INCREMENT; item ids come from the global 'item_id' sequence so an
    -- item keeps its id when it is traded to, or moves with its owner to, another shard.
    item_id BIGINT PRIMARY KEY,
    character_id INT NOT NULL,
    template_id INT NOT NULL,

    -- Item instance data
    quantity INT DEFAULT 1,
    durability FLOAT DEFAULT 100.0,
    custom_properties JSON NULL, -- Enchantments, modifications, etc.

    -- Inventory position
    container_type ENUM('inventory', 'equipped', 'bank', 'temp') DEFAULT 'inventory',
    slot_position INT NULL,

    -- Item history
    acquired_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    acquired_method ENUM('loot', 'purchase', 'trade', 'quest', 'admin') DEFAULT 'loot',
    acquired_from VARCHAR(128) NULL,

    -- Item flags
    is_bound BOOLEAN DEFAULT FALSE,
    item_flags INT DEFAULT 0,

    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    FOREIGN KEY (template_id) REFERENCES item_templates(template_id),
    INDEX idx_character_inventory (character_id, container_type),
    INDEX idx_inventory_slot (character_id, container_type, slot_position),
    INDEX idx_item_template (template_id)
);

-- Equipment slots
CREATE TABLE IF NOT EXISTS character_equipment (
    character_id INT NOT NULL,
    slot_name VARCHAR(32) NOT NULL, -- weapon_primary, weapon_secondary, clothing_head, etc.
    item_id BIGINT NULL,

    PRIMARY KEY (character_id, slot_name),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    FOREIGN KEY (item_id) REFERENCES character_inventory(item_id) ON DELETE SET NULL,
    INDEX idx_character_equipment (character_id)
);

-- Item modifications and enhancements
CREATE TABLE IF NOT EXISTS item_modifications (
    modification_id INT PRIMARY KEY AUTO_INCREMENT,
    item_id BIGINT NOT NULL,
    modification_type ENUM('enhancement', 'enchantment', 'upgrade', 'repair') NOT NULL,
    modification_data JSON NOT NULL, -- Specific modification details
    applied_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    applied_by INT NULL, -- Character or NPC that applied modification
    cost_paid INT DEFAULT 0,

    FOREIGN KEY (item_id) REFERENCES character_inventory(item_id) ON DELETE CASCADE,
    INDEX idx_item_modifications (item_id)
);

-- Character mission progress
CREATE TABLE IF NOT EXISTS character_missions (
    character_id INT NOT NULL,
    mission_id INT NOT NULL,

    -- Mission state
    mission_status ENUM('available', 'accepted', 'in_progress', 'completed', 'failed', 'abandoned') NOT NULL,
    progress_data JSON NULL, -- Objective completion status

    -- Timing
    accepted_date TIMESTAMP NULL,
    completed_date TIMESTAMP NULL,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,

    -- Custom mission data (for procedural missions)
    custom_objectives JSON NULL,
    custom_rewards JSON NULL,

    PRIMARY KEY (character_id, mission_id),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    FOREIGN KEY (mission_id) REFERENCES mission_templates(mission_id) ON DELETE CASCADE,
    INDEX idx_character_missions_status (character_id, mission_status),
    INDEX idx_mission_progress (mission_id, mission_status)
);

-- Mission objective tracking
CREATE TABLE IF NOT EXISTS mission_objective_progress (
    character_id INT NOT NULL,
    mission_id INT NOT NULL,
    objective_index INT NOT NULL,

    -- Progress tracking
    current_progress INT DEFAULT 0,
    required_progress INT NOT NULL,
    progress_data JSON NULL, -- Objective-specific progress data

    -- Status
    is_completed BOOLEAN DEFAULT FALSE,
    completed_date TIMESTAMP NULL,

    PRIMARY KEY (character_id, mission_id, objective_index),
    FOREIGN KEY (character_id, mission_id) REFERENCES character_missions(character_id, mission_id) ON DELETE CASCADE,
    INDEX idx_objective_progress (character_id, mission_id)
);

-- Mission history and completion log (moves with the character, so it keeps the seed's FK)
CREATE TABLE IF NOT EXISTS mission_history (
    history_id BIGINT PRIMARY KEY AUTO_INCREMENT,
    character_id INT NOT NULL,
    mission_id INT NOT NULL,

    -- Completion details
    completion_status ENUM('completed', 'failed', 'abandoned') NOT NULL,
    completion_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    completion_time INT NULL, -- Seconds taken to complete

    -- Rewards received
    experience_gained INT DEFAULT 0,
    money_gained INT DEFAULT 0,
    items_received JSON NULL,
    faction_changes JSON NULL,

    -- Context
    completion_method VARCHAR(64) NULL, -- How it was completed
    team_members JSON NULL, -- Other players involved

    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    FOREIGN KEY (mission_id) REFERENCES mission_templates(mission_id),
    INDEX idx_mission_history_character (character_id),
    INDEX idx_mission_history_date (completion_date)
);

-- Player vs Player statistics
CREATE TABLE IF NOT EXISTS pvp_statistics (
    character_id INT PRIMARY KEY,

    -- Overall PvP stats
    total_pvp_encounters INT DEFAULT 0,
    pvp_wins INT DEFAULT 0,
    pvp_losses INT DEFAULT 0,
    pvp_draws INT DEFAULT 0,

    -- Interlock specific
    interlock_encounters INT DEFAULT 0,
    interlock_wins INT DEFAULT 0,
    interlock_losses INT DEFAULT 0,

    -- Damage statistics
    total_pvp_damage_dealt BIGINT DEFAULT 0,
    total_pvp_damage_received BIGINT DEFAULT 0,
    highest_single_hit INT DEFAULT 0,

    -- Streak tracking
    current_win_streak INT DEFAULT 0,
    best_win_streak INT DEFAULT 0,
    current_loss_streak INT DEFAULT 0,

    -- Rankings
    pvp_rating INT DEFAULT 1000, -- ELO-style rating
    pvp_rank VARCHAR(32) DEFAULT 'Unranked',
    season_wins INT DEFAULT 0,
    season_losses INT DEFAULT 0,

    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE
);

-- Social relationships (friends, enemies, etc.)
CREATE TABLE IF NOT EXISTS character_relationships (
    character_id INT NOT NULL,
    target_character_id INT NOT NULL,
    relationship_type ENUM('friend', 'ignore', 'enemy', 'neutral') NOT NULL,

    -- Relationship details
    relationship_level TINYINT DEFAULT 1, -- Intensity of relationship
    notes TEXT NULL,
    is_mutual BOOLEAN DEFAULT FALSE,

    -- Tracking
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_interaction TIMESTAMP NULL,
    interaction_count INT DEFAULT 0,

    PRIMARY KEY (character_id, target_character_id),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE,
    -- DEVIATION: no FK on target_character_id: the friend/enemy may live on another shard
    -- (the library checks the target against the global character directory). The index
    -- replaces the one the seed's FK created implicitly (reverse lookups).
    INDEX idx_relationships_target (target_character_id),
    INDEX idx_relationships_type (character_id, relationship_type),
    CHECK (character_id != target_character_id)
);

-- =====================================================================================
-- World state, by district (owned by the shard that owns the district)
-- =====================================================================================

-- Static world objects (NPCs, terminals, etc.)
CREATE TABLE IF NOT EXISTS world_objects (
    object_id BIGINT PRIMARY KEY AUTO_INCREMENT,
    district_id INT NOT NULL,
    object_type ENUM('npc', 'terminal', 'hardline', 'item_spawn', 'decoration', 'interactive') NOT NULL,
    template_id INT NULL, -- Reference to object template

    -- Position and orientation
    position_x FLOAT NOT NULL,
    position_y FLOAT NOT NULL,
    position_z FLOAT NOT NULL,
    rotation_x FLOAT DEFAULT 0,
    rotation_y FLOAT DEFAULT 0,
    rotation_z FLOAT DEFAULT 0,
    rotation_w FLOAT DEFAULT 1,

    -- Object properties
    object_name VARCHAR(64) NULL,
    object_data JSON NULL, -- Type-specific data
    interaction_data JSON NULL, -- What happens when interacted with

    -- State management
    current_state ENUM('active', 'inactive', 'destroyed', 'hidden') DEFAULT 'active',
    respawn_time INT DEFAULT 0, -- Seconds until respawn if destroyed
    last_interaction TIMESTAMP NULL,

    -- Spawning rules
    spawn_condition JSON NULL, -- Conditions for spawning
    despawn_condition JSON NULL, -- Conditions for despawning

    FOREIGN KEY (district_id) REFERENCES districts(district_id) ON DELETE CASCADE,
    INDEX idx_world_objects_district (district_id),
    INDEX idx_world_objects_type (object_type),
    INDEX idx_world_objects_position (district_id, position_x, position_y, position_z)
);

-- Hardline locations and connections
CREATE TABLE IF NOT EXISTS hardlines (
    hardline_id INT PRIMARY KEY AUTO_INCREMENT,
    district_id INT NOT NULL,
    hardline_name VARCHAR(64) NOT NULL,

    -- Location
    position_x FLOAT NOT NULL,
    position_y FLOAT NOT NULL,
    position_z FLOAT NOT NULL,

    -- Hardline properties
    hardline_type ENUM('public', 'private', 'faction', 'mission') DEFAULT 'public',
    access_code VARCHAR(16) NULL, -- For private hardlines
    faction_requirement ENUM('zion', 'machine', 'merovingian') NULL,
    level_requirement TINYINT DEFAULT 1,

    -- Network connections
    connected_hardlines JSON NULL, -- List of hardline IDs this connects to
    connection_cost INT DEFAULT 0, -- Cost to use connection

    -- Status
    is_active BOOLEAN DEFAULT TRUE,
    last_used TIMESTAMP NULL,
    usage_count INT DEFAULT 0,

    FOREIGN KEY (district_id) REFERENCES districts(district_id) ON DELETE CASCADE,
    INDEX idx_hardlines_district (district_id),
    INDEX idx_hardlines_type (hardline_type),
    INDEX idx_hardlines_faction (faction_requirement)
);

-- Dynamic world events
CREATE TABLE IF NOT EXISTS world_events (
    event_id BIGINT PRIMARY KEY AUTO_INCREMENT,
    district_id INT NULL, -- NULL for server-wide events
    event_type ENUM('spawning', 'weather', 'lighting', 'combat', 'story', 'admin') NOT NULL,

    -- Event data
    event_name VARCHAR(128),
    event_description TEXT,
    event_data JSON NOT NULL, -- Event-specific parameters

    -- Timing
    start_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NULL,
    duration INT NULL, -- Seconds (alternative to end_time)

    -- Conditions
    trigger_condition JSON NULL, -- What triggers this event
    completion_condition JSON NULL, -- What completes this event

    -- Status
    event_status ENUM('scheduled', 'active', 'completed', 'cancelled') DEFAULT 'scheduled',
    participants JSON NULL, -- Players involved in event

    -- Results
    event_results JSON NULL, -- Outcomes and rewards
    created_by INT NULL, -- Admin or system that created event

    FOREIGN KEY (district_id) REFERENCES districts(district_id) ON DELETE CASCADE,
    INDEX idx_world_events_district (district_id),
    INDEX idx_world_events_time (start_time, end_time),
    INDEX idx_world_events_status (event_status)
);

-- Vendor NPCs and shops
CREATE TABLE IF NOT EXISTS vendors (
    vendor_id INT PRIMARY KEY AUTO_INCREMENT,
    vendor_name VARCHAR(64) NOT NULL,
    district_id INT NOT NULL,

    -- Location
    position_x FLOAT NOT NULL,
    position_y FLOAT NOT NULL,
    position_z FLOAT NOT NULL,

    -- Vendor properties
    vendor_type ENUM('general', 'weapon', 'clothing', 'program', 'faction', 'special') NOT NULL,
    faction_requirement ENUM('zion', 'machine', 'merovingian') NULL,
    level_requirement TINYINT DEFAULT 1,

    -- Economic properties
    buy_rate DECIMAL(3,2) DEFAULT 0.50, -- Percentage of item value when buying from players
    sell_markup DECIMAL(3,2) DEFAULT 1.20, -- Multiplier for selling to players

    -- Inventory management
    max_inventory_size INT DEFAULT 1000,
    restocks_inventory BOOLEAN DEFAULT TRUE,
    restock_interval INT DEFAULT 3600, -- Seconds
    last_restock TIMESTAMP DEFAULT CURRENT_TIMESTAMP,

    -- Status
    is_active BOOLEAN DEFAULT TRUE,

    FOREIGN KEY (district_id) REFERENCES districts(district_id) ON DELETE CASCADE,
    INDEX idx_vendors_district (district_id),
    INDEX idx_vendors_type (vendor_type),
    INDEX idx_vendors_faction (faction_requirement)
);

-- Vendor inventory
CREATE TABLE IF NOT EXISTS vendor_inventory (
    vendor_id INT NOT NULL,
    template_id INT NOT NULL,

    -- Stock information
    current_stock INT DEFAULT 0,
    max_stock INT DEFAULT 10,
    base_price INT NOT NULL,
    current_price INT NOT NULL,

    -- Restock settings
    restock_amount INT DEFAULT 5,
    restock_probability DECIMAL(3,2) DEFAULT 1.00,

    -- Sales tracking
    total_sold INT DEFAULT 0,
    last_sold TIMESTAMP NULL,

    PRIMARY KEY (vendor_id, template_id),
    FOREIGN KEY (vendor_id) REFERENCES vendors(vendor_id) ON DELETE CASCADE,
    FOREIGN KEY (template_id) REFERENCES item_templates(template_id) ON DELETE CASCADE,
    INDEX idx_vendor_inventory_stock (vendor_id, current_stock)
);

-- Server economy tracking, this shard's own figures (written by UpdateEconomyMetrics below).
-- DEVIATION: the seed has one server_economy; here every shard has one with the same columns
-- and the global tier has the cluster roll-up the library sums from them.
CREATE TABLE IF NOT EXISTS server_economy (
    tracking_date DATE PRIMARY KEY,

    -- Currency circulation
    total_money_in_circulation BIGINT DEFAULT 0,
    money_created_today BIGINT DEFAULT 0,
    money_destroyed_today BIGINT DEFAULT 0,

    -- Item economy
    items_created_today INT DEFAULT 0,
    items_destroyed_today INT DEFAULT 0,
    trades_completed_today INT DEFAULT 0,

    -- Price tracking
    average_item_prices JSON NULL, -- Average prices by item template
    inflation_rate DECIMAL(5,2) DEFAULT 0.00,

    -- Market activity
    vendor_sales_today BIGINT DEFAULT 0,
    player_trades_today BIGINT DEFAULT 0,

    INDEX idx_economy_date (tracking_date)
);

-- =====================================================================================
-- Event records: written on the shard where the event happened, never moved, and with no
-- foreign key to characters (see the header).
-- =====================================================================================

-- Player-to-player trading
CREATE TABLE IF NOT EXISTS trade_sessions (
    -- DEVIATION: no AUTO_INCREMENT; trade ids come from the global 'trade_id' sequence so the
    -- two shards of a cross-shard trade record it under the same id.
    trade_id BIGINT PRIMARY KEY,

    -- Trading parties
    initiator_id INT NOT NULL,
    recipient_id INT NOT NULL,

    -- Trade details
    initiator_items JSON NULL, -- Array of item IDs and quantities
    recipient_items JSON NULL, -- Array of item IDs and quantities
    initiator_money INT DEFAULT 0,
    recipient_money INT DEFAULT 0,

    -- Trade state
    trade_status ENUM('initiated', 'negotiating', 'confirmed', 'completed', 'cancelled') DEFAULT 'initiated',
    initiator_confirmed BOOLEAN DEFAULT FALSE,
    recipient_confirmed BOOLEAN DEFAULT FALSE,

    -- Timing
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    completed_date TIMESTAMP NULL,
    expires_date TIMESTAMP DEFAULT (CURRENT_TIMESTAMP + INTERVAL 1 HOUR),

    -- Location
    district_id INT NOT NULL,

    -- DEVIATION (new columns): the caller's idempotency key, so a retried trade request is
    -- recognised instead of executed twice (UNIQUE: the key is claimed on the initiator's shard
    -- and a concurrent duplicate waits on it, then finds it taken), and the XA transaction id of a cross-shard trade, so recovery
    -- and operators can tie a trade row to its distributed transaction.
    idempotency_key VARCHAR(64) NULL,
    xa_gtrid VARCHAR(64) NULL,

    -- DEVIATION: no FKs on initiator_id / recipient_id (event record; either party may live
    -- on another shard, or move later). The district FK stays (districts is on every shard).
    FOREIGN KEY (district_id) REFERENCES districts(district_id),
    INDEX idx_trade_sessions_status (trade_status),
    INDEX idx_trade_sessions_players (initiator_id, recipient_id),
    INDEX idx_trade_sessions_recipient (recipient_id), -- the seed's FK made this implicitly
    INDEX idx_trade_sessions_expires (expires_date),
    UNIQUE KEY uq_trade_sessions_idempotency (idempotency_key),
    INDEX idx_trade_sessions_xa (xa_gtrid)
);

-- Transaction history (both sides of a cross-shard trade write a row on their own shard)
CREATE TABLE IF NOT EXISTS transaction_history (
    transaction_id BIGINT PRIMARY KEY AUTO_INCREMENT,

    -- Transaction parties
    from_character_id INT NULL,
    to_character_id INT NULL,
    vendor_id INT NULL,

    -- Transaction details
    -- DEVIATION: 'repair_cost' added (UpdateEconomyMetrics counts it as money destroyed, but
    -- the seed's ENUM lacks it, so strict mode rejected every repair). Seed values unchanged.
    transaction_type ENUM('trade', 'vendor_sale', 'vendor_purchase', 'admin_grant', 'quest_reward', 'drop_loot', 'repair_cost') NOT NULL,
    money_amount INT DEFAULT 0,
    items_transferred JSON NULL, -- Array of item details

    -- Context
    transaction_reason VARCHAR(128),
    related_mission_id INT NULL,
    related_trade_id BIGINT NULL,

    -- Timing and location
    transaction_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    district_id INT NULL,

    INDEX idx_transaction_history_date (transaction_date),
    INDEX idx_transaction_history_character (from_character_id, to_character_id),
    INDEX idx_transaction_history_to (to_character_id), -- the seed's FK made this implicitly
    INDEX idx_transaction_history_type (transaction_type),
    INDEX idx_transaction_history_trade (related_trade_id),
    -- DEVIATION: no FKs on from_character_id / to_character_id (event record: deleting or
    -- moving a character must not rewrite its money history). Vendor and district stay.
    FOREIGN KEY (vendor_id) REFERENCES vendors(vendor_id) ON DELETE SET NULL,
    FOREIGN KEY (district_id) REFERENCES districts(district_id) ON DELETE SET NULL
);

-- Combat encounters and tracking
CREATE TABLE IF NOT EXISTS combat_encounters (
    encounter_id BIGINT PRIMARY KEY AUTO_INCREMENT,

    -- Encounter type and participants
    encounter_type ENUM('pve', 'pvp', 'interlock', 'training') NOT NULL,
    initiator_id INT NOT NULL,
    target_id INT NULL, -- Character or NPC ID
    target_type ENUM('player', 'npc') NOT NULL,

    -- Location
    district_id INT NOT NULL,
    position_x FLOAT NOT NULL,
    position_y FLOAT NOT NULL,
    position_z FLOAT NOT NULL,

    -- Combat details
    start_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    end_time TIMESTAMP NULL,
    duration INT NULL, -- Seconds

    -- Results
    encounter_result ENUM('victory', 'defeat', 'draw', 'fled', 'interrupted') NULL,
    winner_id INT NULL,

    -- Statistics
    total_damage_dealt JSON NULL, -- Per participant
    total_damage_received JSON NULL, -- Per participant
    abilities_used JSON NULL, -- Abilities used during combat

    -- DEVIATION: no FK initiator_id -> characters ON DELETE CASCADE (event record: a move or a
    -- delete of the character must not delete the combat history).
    FOREIGN KEY (district_id) REFERENCES districts(district_id),
    INDEX idx_combat_encounters_time (start_time),
    INDEX idx_combat_encounters_type (encounter_type),
    INDEX idx_combat_participants (initiator_id, target_id)
);

-- Interlock combat system
CREATE TABLE IF NOT EXISTS interlock_encounters (
    interlock_id BIGINT PRIMARY KEY AUTO_INCREMENT,

    -- Participants (up to 8 players)
    participants JSON NOT NULL, -- Array of character IDs
    participant_count TINYINT NOT NULL,
    interlock_type ENUM('one_v_one', 'small_group', 'large_group') NOT NULL,

    -- Location and timing
    district_id INT NOT NULL,
    center_position JSON NOT NULL, -- {x, y, z}
    start_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    end_time TIMESTAMP NULL,

    -- Interlock state
    current_round INT DEFAULT 1,
    max_rounds INT DEFAULT 10,
    interlock_status ENUM('starting', 'active', 'completed', 'interrupted') DEFAULT 'starting',

    -- Results
    winner_id INT NULL,
    elimination_order JSON NULL, -- Order participants were eliminated

    FOREIGN KEY (district_id) REFERENCES districts(district_id),
    INDEX idx_interlock_time (start_time),
    INDEX idx_interlock_status (interlock_status)
);

-- Interlock round details (FK to its encounter, a row on the same shard: kept)
CREATE TABLE IF NOT EXISTS interlock_rounds (
    round_id BIGINT PRIMARY KEY AUTO_INCREMENT,
    interlock_id BIGINT NOT NULL,
    round_number INT NOT NULL,

    -- Round actions
    actions_taken JSON NOT NULL, -- All player actions this round
    round_results JSON NOT NULL, -- Results of all actions

    -- Timing
    round_start TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    round_end TIMESTAMP NULL,

    FOREIGN KEY (interlock_id) REFERENCES interlock_encounters(interlock_id) ON DELETE CASCADE,
    INDEX idx_interlock_rounds (interlock_id, round_number)
);

-- Log tables. DEVIATIONS common to system_logs, player_action_logs and chat_logs, all forced by
-- MariaDB (the seed's CREATE TABLEs fail there):
-- * no foreign keys at all: partitioned tables do not support them (error 1506); and logs are
--   append-only event records that must outlive the characters they name anyway;
-- * the time column is DATETIME NOT NULL (seed: TIMESTAMP NULL): partitioning a TIMESTAMP with
--   TO_DAYS is refused (1486), so the tables are partitioned BY RANGE COLUMNS on a DATETIME,
--   which also prunes correctly; NOT NULL because it is part of the primary key;
-- * the primary key is (id, time column): every unique key of a partitioned table must
--   include the partition column (1503). The id alone is still AUTO_INCREMENT-unique;
-- * partitions: p_old (< 2024), yearly 2024 and 2025, monthly 2026-01 .. 2027-12 and p_future;
--   CALL EnsureLogPartitions(n) splits p_future so monthly partitions exist n months ahead
--   (the seed's last named partition ended 2026-01-01, after which everything piled into
--   the MAXVALUE partition).

-- General system activity logs
CREATE TABLE IF NOT EXISTS system_logs (
    log_id BIGINT NOT NULL AUTO_INCREMENT,
    log_level ENUM('DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL') NOT NULL,
    log_category VARCHAR(32) NOT NULL, -- system, combat, economy, social, etc.
    log_message TEXT NOT NULL,
    log_data JSON NULL, -- Additional structured data

    -- Context
    character_id INT NULL,
    district_id INT NULL,
    session_id VARCHAR(128) NULL,

    -- Timing
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY (log_id, created_at),
    INDEX idx_system_logs_level (log_level, created_at),
    INDEX idx_system_logs_category (log_category, created_at),
    INDEX idx_system_logs_character (character_id, created_at)
) PARTITION BY RANGE COLUMNS (created_at) (
    PARTITION p_old VALUES LESS THAN ('2024-01-01'),
    PARTITION p_2024 VALUES LESS THAN ('2025-01-01'),
    PARTITION p_2025 VALUES LESS THAN ('2026-01-01'),
    PARTITION p_202601 VALUES LESS THAN ('2026-02-01'),
    PARTITION p_202602 VALUES LESS THAN ('2026-03-01'),
    PARTITION p_202603 VALUES LESS THAN ('2026-04-01'),
    PARTITION p_202604 VALUES LESS THAN ('2026-05-01'),
    PARTITION p_202605 VALUES LESS THAN ('2026-06-01'),
    PARTITION p_202606 VALUES LESS THAN ('2026-07-01'),
    PARTITION p_202607 VALUES LESS THAN ('2026-08-01'),
    PARTITION p_202608 VALUES LESS THAN ('2026-09-01'),
    PARTITION p_202609 VALUES LESS THAN ('2026-10-01'),
    PARTITION p_202610 VALUES LESS THAN ('2026-11-01'),
    PARTITION p_202611 VALUES LESS THAN ('2026-12-01'),
    PARTITION p_202612 VALUES LESS THAN ('2027-01-01'),
    PARTITION p_202701 VALUES LESS THAN ('2027-02-01'),
    PARTITION p_202702 VALUES LESS THAN ('2027-03-01'),
    PARTITION p_202703 VALUES LESS THAN ('2027-04-01'),
    PARTITION p_202704 VALUES LESS THAN ('2027-05-01'),
    PARTITION p_202705 VALUES LESS THAN ('2027-06-01'),
    PARTITION p_202706 VALUES LESS THAN ('2027-07-01'),
    PARTITION p_202707 VALUES LESS THAN ('2027-08-01'),
    PARTITION p_202708 VALUES LESS THAN ('2027-09-01'),
    PARTITION p_202709 VALUES LESS THAN ('2027-10-01'),
    PARTITION p_202710 VALUES LESS THAN ('2027-11-01'),
    PARTITION p_202711 VALUES LESS THAN ('2027-12-01'),
    PARTITION p_202712 VALUES LESS THAN ('2028-01-01'),
    PARTITION p_future VALUES LESS THAN (MAXVALUE)
);

-- Player action logs
CREATE TABLE IF NOT EXISTS player_action_logs (
    action_id BIGINT NOT NULL AUTO_INCREMENT,
    character_id INT NOT NULL,
    action_type VARCHAR(32) NOT NULL, -- login, logout, move, attack, trade, etc.
    action_details JSON NULL, -- Action-specific data

    -- Context
    district_id INT NULL,
    target_character_id INT NULL,
    item_id BIGINT NULL,

    -- Results
    action_result ENUM('success', 'failure', 'partial') DEFAULT 'success',
    error_message TEXT NULL,

    -- Timing
    action_timestamp DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY (action_id, action_timestamp),
    INDEX idx_player_actions_character (character_id, action_timestamp),
    INDEX idx_player_actions_type (action_type, action_timestamp)
) PARTITION BY RANGE COLUMNS (action_timestamp) (
    PARTITION p_old VALUES LESS THAN ('2024-01-01'),
    PARTITION p_2024 VALUES LESS THAN ('2025-01-01'),
    PARTITION p_2025 VALUES LESS THAN ('2026-01-01'),
    PARTITION p_202601 VALUES LESS THAN ('2026-02-01'),
    PARTITION p_202602 VALUES LESS THAN ('2026-03-01'),
    PARTITION p_202603 VALUES LESS THAN ('2026-04-01'),
    PARTITION p_202604 VALUES LESS THAN ('2026-05-01'),
    PARTITION p_202605 VALUES LESS THAN ('2026-06-01'),
    PARTITION p_202606 VALUES LESS THAN ('2026-07-01'),
    PARTITION p_202607 VALUES LESS THAN ('2026-08-01'),
    PARTITION p_202608 VALUES LESS THAN ('2026-09-01'),
    PARTITION p_202609 VALUES LESS THAN ('2026-10-01'),
    PARTITION p_202610 VALUES LESS THAN ('2026-11-01'),
    PARTITION p_202611 VALUES LESS THAN ('2026-12-01'),
    PARTITION p_202612 VALUES LESS THAN ('2027-01-01'),
    PARTITION p_202701 VALUES LESS THAN ('2027-02-01'),
    PARTITION p_202702 VALUES LESS THAN ('2027-03-01'),
    PARTITION p_202703 VALUES LESS THAN ('2027-04-01'),
    PARTITION p_202704 VALUES LESS THAN ('2027-05-01'),
    PARTITION p_202705 VALUES LESS THAN ('2027-06-01'),
    PARTITION p_202706 VALUES LESS THAN ('2027-07-01'),
    PARTITION p_202707 VALUES LESS THAN ('2027-08-01'),
    PARTITION p_202708 VALUES LESS THAN ('2027-09-01'),
    PARTITION p_202709 VALUES LESS THAN ('2027-10-01'),
    PARTITION p_202710 VALUES LESS THAN ('2027-11-01'),
    PARTITION p_202711 VALUES LESS THAN ('2027-12-01'),
    PARTITION p_202712 VALUES LESS THAN ('2028-01-01'),
    PARTITION p_future VALUES LESS THAN (MAXVALUE)
);

-- Chat and communication logs
-- (the seed's moderated_by FK to accounts is dropped too: accounts is a global table)
CREATE TABLE IF NOT EXISTS chat_logs (
    message_id BIGINT NOT NULL AUTO_INCREMENT,
    character_id INT NOT NULL,

    -- Message details
    channel_type ENUM('say', 'broadcast', 'crew', 'faction', 'private', 'system') NOT NULL,
    message_content TEXT NOT NULL,
    target_character_id INT NULL, -- For private messages

    -- Location context
    district_id INT NULL,
    position_x FLOAT NULL,
    position_y FLOAT NULL,
    position_z FLOAT NULL,

    -- Timing
    message_timestamp DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    -- Moderation
    is_flagged BOOLEAN DEFAULT FALSE,
    moderation_action ENUM('none', 'warned', 'edited', 'deleted') DEFAULT 'none',
    moderated_by INT NULL,

    PRIMARY KEY (message_id, message_timestamp),
    INDEX idx_chat_logs_character (character_id, message_timestamp),
    INDEX idx_chat_logs_channel (channel_type, message_timestamp),
    INDEX idx_chat_logs_district (district_id, message_timestamp)
) PARTITION BY RANGE COLUMNS (message_timestamp) (
    PARTITION p_old VALUES LESS THAN ('2024-01-01'),
    PARTITION p_2024 VALUES LESS THAN ('2025-01-01'),
    PARTITION p_2025 VALUES LESS THAN ('2026-01-01'),
    PARTITION p_202601 VALUES LESS THAN ('2026-02-01'),
    PARTITION p_202602 VALUES LESS THAN ('2026-03-01'),
    PARTITION p_202603 VALUES LESS THAN ('2026-04-01'),
    PARTITION p_202604 VALUES LESS THAN ('2026-05-01'),
    PARTITION p_202605 VALUES LESS THAN ('2026-06-01'),
    PARTITION p_202606 VALUES LESS THAN ('2026-07-01'),
    PARTITION p_202607 VALUES LESS THAN ('2026-08-01'),
    PARTITION p_202608 VALUES LESS THAN ('2026-09-01'),
    PARTITION p_202609 VALUES LESS THAN ('2026-10-01'),
    PARTITION p_202610 VALUES LESS THAN ('2026-11-01'),
    PARTITION p_202611 VALUES LESS THAN ('2026-12-01'),
    PARTITION p_202612 VALUES LESS THAN ('2027-01-01'),
    PARTITION p_202701 VALUES LESS THAN ('2027-02-01'),
    PARTITION p_202702 VALUES LESS THAN ('2027-03-01'),
    PARTITION p_202703 VALUES LESS THAN ('2027-04-01'),
    PARTITION p_202704 VALUES LESS THAN ('2027-05-01'),
    PARTITION p_202705 VALUES LESS THAN ('2027-06-01'),
    PARTITION p_202706 VALUES LESS THAN ('2027-07-01'),
    PARTITION p_202707 VALUES LESS THAN ('2027-08-01'),
    PARTITION p_202708 VALUES LESS THAN ('2027-09-01'),
    PARTITION p_202709 VALUES LESS THAN ('2027-10-01'),
    PARTITION p_202710 VALUES LESS THAN ('2027-11-01'),
    PARTITION p_202711 VALUES LESS THAN ('2027-12-01'),
    PARTITION p_202712 VALUES LESS THAN ('2028-01-01'),
    PARTITION p_future VALUES LESS THAN (MAXVALUE)
);

-- Server performance metrics (this shard's server)
CREATE TABLE IF NOT EXISTS server_metrics (
    metric_id BIGINT PRIMARY KEY AUTO_INCREMENT,
    metric_timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,

    -- Performance metrics
    cpu_usage DECIMAL(5,2) DEFAULT 0.00,
    memory_usage DECIMAL(5,2) DEFAULT 0.00,
    disk_usage DECIMAL(5,2) DEFAULT 0.00,
    network_in_mbps DECIMAL(8,2) DEFAULT 0.00,
    network_out_mbps DECIMAL(8,2) DEFAULT 0.00,

    -- Database metrics
    active_connections INT DEFAULT 0,
    queries_per_second DECIMAL(8,2) DEFAULT 0.00,
    slow_queries INT DEFAULT 0,

    -- Game metrics
    online_players INT DEFAULT 0,
    active_districts INT DEFAULT 0,
    combat_encounters_active INT DEFAULT 0,

    -- Response times (milliseconds)
    avg_response_time DECIMAL(8,2) DEFAULT 0.00,
    max_response_time DECIMAL(8,2) DEFAULT 0.00,

    INDEX idx_server_metrics_time (metric_timestamp)
);

-- =====================================================================================
-- Archive tables (new; the seed's procedures write to them but never create them)
-- =====================================================================================
-- Each has exactly its source's visible columns in the source's order, so the procedures'
-- INSERT INTO archived_x SELECT * FROM x works. Written out explicitly rather than with
-- CREATE TABLE ... LIKE, because LIKE would copy the source's UNIQUE keys (a character archived
-- twice, or a name reused after archiving, would collide), CHECK constraints, partitioning and
-- AUTO_INCREMENT. No foreign keys, no ON UPDATE clauses (archived rows are frozen).
-- Each also has two INVISIBLE columns: SELECT * and INSERT without a column list ignore them,
-- so INSERT ... SELECT * still lines up. archive_id gives the table a real primary key (row-based
-- replication to replicas needs one to apply deletes without full scans); archived_at records
-- when the row was archived. When a later migration adds a column to a source table, the same
-- migration must add it (visible, same position) to the archive table.

CREATE TABLE IF NOT EXISTS archived_characters (
    character_id INT NOT NULL,
    account_id INT NOT NULL,
    character_name VARCHAR(32) NOT NULL,
    archetype ENUM('hacker', 'martial_artist', 'spy') NOT NULL,
    gender ENUM('male', 'female') NOT NULL,
    appearance_data JSON NOT NULL,
    level TINYINT NULL,
    experience INT NULL,
    vitality TINYINT NULL,
    focus TINYINT NULL,
    perception TINYINT NULL,
    reason TINYINT NULL,
    belief TINYINT NULL,
    health INT NULL,
    inner_strength INT NULL,
    max_health INT NULL,
    max_inner_strength INT NULL,
    district_id INT NULL,
    position_x FLOAT NULL,
    position_y FLOAT NULL,
    position_z FLOAT NULL,
    rotation_x FLOAT NULL,
    rotation_y FLOAT NULL,
    rotation_z FLOAT NULL,
    rotation_w FLOAT NULL,
    faction ENUM('zion', 'machine', 'merovingian', 'neutral') NULL,
    organization_id INT NULL,
    crew_id INT NULL,
    is_online BOOLEAN NULL,
    last_login TIMESTAMP NULL,
    total_playtime INT NULL,
    character_flags INT NULL,
    created_date TIMESTAMP NULL,
    last_updated TIMESTAMP NULL,
    money BIGINT NOT NULL,

    archive_id BIGINT NOT NULL AUTO_INCREMENT INVISIBLE,
    archived_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) INVISIBLE,
    PRIMARY KEY (archive_id),
    INDEX idx_archived_characters_id (character_id),
    INDEX idx_archived_characters_account (account_id),
    INDEX idx_archived_characters_name (character_name)
);

CREATE TABLE IF NOT EXISTS archived_system_logs (
    log_id BIGINT NOT NULL,
    log_level ENUM('DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL') NOT NULL,
    log_category VARCHAR(32) NOT NULL,
    log_message TEXT NOT NULL,
    log_data JSON NULL,
    character_id INT NULL,
    district_id INT NULL,
    session_id VARCHAR(128) NULL,
    created_at DATETIME NOT NULL,

    archive_id BIGINT NOT NULL AUTO_INCREMENT INVISIBLE,
    archived_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) INVISIBLE,
    PRIMARY KEY (archive_id),
    INDEX idx_archived_system_logs_id (log_id),
    INDEX idx_archived_system_logs_time (created_at),
    INDEX idx_archived_system_logs_character (character_id, created_at)
);

CREATE TABLE IF NOT EXISTS archived_player_action_logs (
    action_id BIGINT NOT NULL,
    character_id INT NOT NULL,
    action_type VARCHAR(32) NOT NULL,
    action_details JSON NULL,
    district_id INT NULL,
    target_character_id INT NULL,
    item_id BIGINT NULL,
    action_result ENUM('success', 'failure', 'partial') NULL,
    error_message TEXT NULL,
    action_timestamp DATETIME NOT NULL,

    archive_id BIGINT NOT NULL AUTO_INCREMENT INVISIBLE,
    archived_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) INVISIBLE,
    PRIMARY KEY (archive_id),
    INDEX idx_archived_player_actions_id (action_id),
    INDEX idx_archived_player_actions_time (action_timestamp),
    INDEX idx_archived_player_actions_character (character_id, action_timestamp)
);

CREATE TABLE IF NOT EXISTS archived_chat_logs (
    message_id BIGINT NOT NULL,
    character_id INT NOT NULL,
    channel_type ENUM('say', 'broadcast', 'crew', 'faction', 'private', 'system') NOT NULL,
    message_content TEXT NOT NULL,
    target_character_id INT NULL,
    district_id INT NULL,
    position_x FLOAT NULL,
    position_y FLOAT NULL,
    position_z FLOAT NULL,
    message_timestamp DATETIME NOT NULL,
    is_flagged BOOLEAN NULL,
    moderation_action ENUM('none', 'warned', 'edited', 'deleted') NULL,
    moderated_by INT NULL,

    archive_id BIGINT NOT NULL AUTO_INCREMENT INVISIBLE,
    archived_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) INVISIBLE,
    PRIMARY KEY (archive_id),
    INDEX idx_archived_chat_logs_id (message_id),
    INDEX idx_archived_chat_logs_time (message_timestamp),
    INDEX idx_archived_chat_logs_character (character_id, message_timestamp)
);

-- =====================================================================================
-- Shard-local views (exactly the seed's definitions). player_summary is not here: it joins
-- accounts and memberships (global) with characters (shards), so the library gathers it.
-- =====================================================================================

-- Character equipment summary
CREATE OR REPLACE VIEW character_equipment_summary AS
SELECT 
    c.character_id,
    c.character_name,
    ce.slot_name,
    it.item_name,
    it.quality,
    it.item_level,
    ci.durability
FROM characters c
LEFT JOIN character_equipment ce ON c.character_id = ce.character_id
LEFT JOIN character_inventory ci ON ce.item_id = ci.item_id
LEFT JOIN item_templates it ON ci.template_id = it.template_id;

-- District activity summary
CREATE OR REPLACE VIEW district_activity AS
SELECT 
    d.district_id,
    d.district_name,
    COUNT(DISTINCT c.character_id) as current_players,
    d.max_players,
    (COUNT(DISTINCT c.character_id) / d.max_players * 100) as occupancy_percentage,
    COUNT(DISTINCT we.event_id) as active_events
FROM districts d
LEFT JOIN characters c ON d.district_id = c.district_id AND c.is_online = TRUE
LEFT JOIN world_events we ON d.district_id = we.district_id AND we.event_status = 'active'
GROUP BY d.district_id, d.district_name, d.max_players;

-- =====================================================================================
-- Maintenance procedures (the seed's, made to work; changes marked DEVIATION)
-- =====================================================================================

DELIMITER //

-- Stored procedure for character cleanup.
-- Rows in tables that move with the character go with it (their FKs cascade, as in the seed);
-- event records stay, because they have no FK to characters. The library removes the matching
-- character_directory row on the global tier (a different server).
CREATE OR REPLACE PROCEDURE CleanupInactiveCharacters(IN days_inactive INT)
BEGIN
    DECLARE cutoff DATETIME;
    DECLARE matched INT DEFAULT 0;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;

    -- DEVIATION: the seed evaluates NOW() separately in the INSERT and the DELETE; a character
    -- crossing the threshold between the two would be deleted without being archived. One
    -- cutoff for both, and the matching rows locked first so a login in between cannot
    -- make the two statements disagree either.
    SET cutoff = DATE_SUB(NOW(), INTERVAL days_inactive DAY);

    START TRANSACTION;

    SELECT COUNT(*) INTO matched FROM characters
    WHERE last_login < cutoff
    AND is_online = FALSE
    FOR UPDATE;

    -- Archive characters inactive for specified days
    INSERT INTO archived_characters 
    SELECT * FROM characters 
    WHERE last_login < cutoff
    AND is_online = FALSE;
    
    -- Remove from active tables
    DELETE FROM characters 
    WHERE last_login < cutoff
    AND is_online = FALSE;
    
    COMMIT;
END //

-- Stored procedure for log rotation
CREATE OR REPLACE PROCEDURE RotateLogTables()
BEGIN
    DECLARE cutoff DATETIME;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;

    -- DEVIATION: one cutoff for every INSERT and DELETE (see CleanupInactiveCharacters).
    SET cutoff = DATE_SUB(NOW(), INTERVAL 90 DAY);

    START TRANSACTION;
    
    -- Archive old logs (older than 90 days)
    INSERT INTO archived_system_logs 
    SELECT * FROM system_logs 
    WHERE created_at < cutoff;
    
    DELETE FROM system_logs 
    WHERE created_at < cutoff;
    
    -- Similar for other log tables
    INSERT INTO archived_player_action_logs
    SELECT * FROM player_action_logs
    WHERE action_timestamp < cutoff;
    
    DELETE FROM player_action_logs
    WHERE action_timestamp < cutoff;

    -- DEVIATION: chat_logs rotated too ("similar for other log tables"; the seed stopped at two).
    INSERT INTO archived_chat_logs
    SELECT * FROM chat_logs
    WHERE message_timestamp < cutoff;

    DELETE FROM chat_logs
    WHERE message_timestamp < cutoff;
    
    COMMIT;
END //

-- Stored procedure for economy balancing: this shard's figures into this shard's
-- server_economy; the library sums every shard's row into the global roll-up.
CREATE OR REPLACE PROCEDURE UpdateEconomyMetrics()
BEGIN
    DECLARE total_money BIGINT DEFAULT 0;
    DECLARE money_created BIGINT DEFAULT 0;
    DECLARE money_destroyed BIGINT DEFAULT 0;
    DECLARE day_start DATETIME DEFAULT CURDATE();
    
    -- Calculate total money in circulation
    -- DEVIATION: every character's balance, not only online characters' (the seed filtered on
    -- is_online, so the "total in circulation" changed whenever players logged in or out).
    -- characters.money exists now (the seed's CALL failed with "Unknown column 'money'").
    SELECT COALESCE(SUM(money), 0) INTO total_money
    FROM characters;
    
    -- Calculate money created today
    -- DEVIATION: a half-open range on transaction_date instead of DATE(transaction_date) =
    -- CURDATE(): the same rows, but the index on transaction_date can be used.
    SELECT COALESCE(SUM(money_amount), 0) INTO money_created
    FROM transaction_history 
    WHERE transaction_type IN ('quest_reward', 'vendor_sale', 'admin_grant')
    AND transaction_date >= day_start AND transaction_date < day_start + INTERVAL 1 DAY;
    
    -- Calculate money destroyed today ('repair_cost' is a valid ENUM value now)
    SELECT COALESCE(SUM(money_amount), 0) INTO money_destroyed
    FROM transaction_history 
    WHERE transaction_type IN ('vendor_purchase', 'repair_cost')
    AND transaction_date >= day_start AND transaction_date < day_start + INTERVAL 1 DAY;
    
    -- Update economy tracking
    INSERT INTO server_economy (
        tracking_date, 
        total_money_in_circulation, 
        money_created_today, 
        money_destroyed_today
    ) VALUES (
        CURDATE(), 
        total_money, 
        money_created, 
        money_destroyed
    ) ON DUPLICATE KEY UPDATE
        total_money_in_circulation = total_money,
        money_created_today = money_created,
        money_destroyed_today = money_destroyed;
END //

-- New: roll the log tables' monthly partitions forward. Splits each table's MAXVALUE partition
-- (p_future) until monthly partitions p_YYYYMM cover every month up to and including the month
-- of NOW() + months_ahead. Idempotent: it starts from the highest existing bound, so a second
-- call with the same argument changes nothing. Rows already in p_future are redistributed by
-- REORGANIZE PARTITION. Run it from a scheduler (or the library's maintenance) at least monthly.
CREATE OR REPLACE PROCEDURE EnsureLogPartitions(IN months_ahead INT)
BEGIN
    DECLARE table_index INT DEFAULT 1;
    DECLARE log_table VARCHAR(64);
    DECLARE upper_bound DATE;
    DECLARE next_bound DATE;
    DECLARE target DATE;
    DECLARE lock_name VARCHAR(128) DEFAULT CONCAT('mxo_log_partitions:', DATABASE());
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        DO RELEASE_LOCK(lock_name);
        RESIGNAL;
    END;

    IF months_ahead IS NULL OR months_ahead < 0 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'EnsureLogPartitions: months_ahead must be >= 0';
    END IF;
    -- Two concurrent calls would both try to add the same partition: serialise them.
    IF COALESCE(GET_LOCK(lock_name, 60), 0) <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'EnsureLogPartitions: could not get its lock within 60 s';
    END IF;

    -- First day of the month after the last month that must be covered.
    SET target = DATE_FORMAT(NOW() + INTERVAL months_ahead MONTH, '%Y-%m-01') + INTERVAL 1 MONTH;

    WHILE table_index <= 3 DO
        SET log_table = ELT(table_index, 'system_logs', 'player_action_logs', 'chat_logs');

        SELECT MAX(CAST(TRIM(BOTH '''' FROM PARTITION_DESCRIPTION) AS DATE)) INTO upper_bound
        FROM information_schema.PARTITIONS
        WHERE TABLE_SCHEMA = DATABASE()
        AND TABLE_NAME = log_table
        AND PARTITION_DESCRIPTION <> 'MAXVALUE';

        WHILE upper_bound < target DO
            SET next_bound = upper_bound + INTERVAL 1 MONTH;
            SET @mxo_partition_ddl = CONCAT(
                'ALTER TABLE `', log_table, '` REORGANIZE PARTITION p_future INTO (',
                'PARTITION p_', DATE_FORMAT(upper_bound, '%Y%m'),
                ' VALUES LESS THAN (''', DATE_FORMAT(next_bound, '%Y-%m-%d'), '''), ',
                'PARTITION p_future VALUES LESS THAN (MAXVALUE))');
            PREPARE partition_stmt FROM @mxo_partition_ddl;
            EXECUTE partition_stmt;
            DEALLOCATE PREPARE partition_stmt;
            SET upper_bound = next_bound;
        END WHILE;

        SET table_index = table_index + 1;
    END WHILE;

    DO RELEASE_LOCK(lock_name);
END //

DELIMITER ;
