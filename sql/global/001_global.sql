-- Global tier: one primary (plus replicas) for the whole cluster. Accounts and everything that
-- must be unique or visible cluster-wide. The reference tier (districts, templates) is applied
-- to this node first, so the district foreign keys below resolve locally.
--
-- Deviations from the seed are marked "DEVIATION:" with the reason.
-- CREATE ... IF NOT EXISTS so a file that failed half-way can simply be re-run after a fix.

-- Core account information
CREATE TABLE IF NOT EXISTS accounts (
    account_id INT PRIMARY KEY AUTO_INCREMENT,
    username VARCHAR(32) UNIQUE NOT NULL,
    password_hash VARCHAR(128) NOT NULL,
    email VARCHAR(255) UNIQUE NOT NULL,
    email_verified BOOLEAN DEFAULT FALSE,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_login TIMESTAMP NULL,
    account_status ENUM('active', 'suspended', 'banned', 'pending') DEFAULT 'active',
    subscription_type ENUM('free', 'premium', 'lifetime') DEFAULT 'free',
    subscription_expires TIMESTAMP NULL,
    total_playtime INT DEFAULT 0, -- seconds

    -- Security and tracking
    last_ip VARCHAR(45), -- IPv6 compatible
    login_count INT DEFAULT 0,
    failed_login_attempts INT DEFAULT 0,
    last_failed_login TIMESTAMP NULL,
    security_flags INT DEFAULT 0,

    -- Administrative
    admin_level TINYINT DEFAULT 0,
    admin_notes TEXT NULL,
    created_by INT NULL,

    INDEX idx_username (username),
    INDEX idx_email (email),
    INDEX idx_last_login (last_login),
    INDEX idx_account_status (account_status)
);

-- Account security and authentication
CREATE TABLE IF NOT EXISTS account_security (
    account_id INT PRIMARY KEY,
    salt VARCHAR(32) NOT NULL,
    password_reset_token VARCHAR(128) NULL,
    password_reset_expires TIMESTAMP NULL,
    two_factor_secret VARCHAR(32) NULL,
    two_factor_enabled BOOLEAN DEFAULT FALSE,
    recovery_codes JSON NULL,
    security_questions JSON NULL,

    FOREIGN KEY (account_id) REFERENCES accounts(account_id) ON DELETE CASCADE
);

-- Login session management
CREATE TABLE IF NOT EXISTS account_sessions (
    session_id VARCHAR(128) PRIMARY KEY,
    account_id INT NOT NULL,
    ip_address VARCHAR(45) NOT NULL,
    user_agent TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_activity TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    expires_at TIMESTAMP NOT NULL,
    session_data JSON NULL,

    FOREIGN KEY (account_id) REFERENCES accounts(account_id) ON DELETE CASCADE,
    INDEX idx_account_sessions (account_id),
    INDEX idx_expires (expires_at)
);

-- Account punishment system
CREATE TABLE IF NOT EXISTS account_punishments (
    punishment_id INT PRIMARY KEY AUTO_INCREMENT,
    account_id INT NOT NULL,
    punishment_type ENUM('warning', 'mute', 'suspension', 'ban') NOT NULL,
    reason TEXT NOT NULL,
    issued_by INT NOT NULL,
    issued_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    expires_date TIMESTAMP NULL,
    is_active BOOLEAN DEFAULT TRUE,
    notes TEXT NULL,
    appeal_status ENUM('none', 'pending', 'approved', 'denied') DEFAULT 'none',

    FOREIGN KEY (account_id) REFERENCES accounts(account_id) ON DELETE CASCADE,
    FOREIGN KEY (issued_by) REFERENCES accounts(account_id),
    INDEX idx_account_punishments (account_id),
    INDEX idx_active_punishments (account_id, is_active, expires_date)
);

-- New (not in the seed): the character directory. The cluster-wide identity of a character:
-- character_id is allocated here (AUTO_INCREMENT) and never changes, even when the character's
-- rows move to another shard; character_name is unique cluster-wide here (the shard's own
-- UNIQUE index only sees one shard). shard_name is the character's home shard (the router's
-- truth); route_version is bumped by every move so a stale cached route can be detected.
-- Seed foreign keys from global tables to characters(character_id) point here instead, and the
-- seed's characters.account_id ON DELETE CASCADE lives here (characters is on the shards).
CREATE TABLE IF NOT EXISTS character_directory (
    character_id INT AUTO_INCREMENT PRIMARY KEY,
    account_id INT NOT NULL,
    character_name VARCHAR(32) NOT NULL UNIQUE,
    shard_name VARCHAR(64) NOT NULL,
    district_id INT NOT NULL,
    route_version INT NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    FOREIGN KEY (account_id) REFERENCES accounts(account_id) ON DELETE CASCADE,
    INDEX idx_character_directory_account (account_id),
    INDEX idx_character_directory_shard (shard_name)
);

-- New (not in the seed): cluster-wide id sequences for ids that travel between shards
-- (character_inventory.item_id, trade_sessions.trade_id). The library reserves blocks with
-- UPDATE ... SET next_value = next_value + block and hands ids out from its cache.
CREATE TABLE IF NOT EXISTS id_sequences (
    sequence_name VARCHAR(64) NOT NULL PRIMARY KEY,
    next_value BIGINT NOT NULL
);

INSERT IGNORE INTO id_sequences (sequence_name, next_value) VALUES ('item_id', 1), ('trade_id', 1);

-- Organizations (Zion, Machine, Merovingian sub-groups)
CREATE TABLE IF NOT EXISTS organizations (
    organization_id INT PRIMARY KEY AUTO_INCREMENT,
    organization_name VARCHAR(64) UNIQUE NOT NULL,
    faction ENUM('zion', 'machine', 'merovingian') NOT NULL,

    -- Organization details
    description TEXT,
    motto VARCHAR(128),
    logo_file VARCHAR(128),

    -- Hierarchy
    leader_id INT NULL,
    officers JSON NULL, -- Array of character IDs
    member_count INT DEFAULT 0,
    max_members INT DEFAULT 100,

    -- Organization properties
    organization_level TINYINT DEFAULT 1,
    experience_points INT DEFAULT 0,
    treasury_amount BIGINT DEFAULT 0,

    -- Recruitment
    recruitment_status ENUM('open', 'invite_only', 'closed') DEFAULT 'open',
    level_requirement TINYINT DEFAULT 1,
    application_required BOOLEAN DEFAULT FALSE,

    -- Status
    is_active BOOLEAN DEFAULT TRUE,
    founded_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_activity TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,

    -- DEVIATION: the seed references characters(character_id); characters live on the shards,
    -- so the leader is checked against the global character directory (same ON DELETE).
    FOREIGN KEY (leader_id) REFERENCES character_directory(character_id) ON DELETE SET NULL,
    INDEX idx_organizations_faction (faction),
    INDEX idx_organizations_active (is_active)
);

-- Crews (player groups within organizations)
CREATE TABLE IF NOT EXISTS crews (
    crew_id INT PRIMARY KEY AUTO_INCREMENT,
    crew_name VARCHAR(64) UNIQUE NOT NULL,
    organization_id INT NULL,

    -- Crew details
    description TEXT,
    crew_motto VARCHAR(128),
    crew_logo VARCHAR(128),

    -- Leadership
    -- DEVIATION: the seed has captain_id INT NOT NULL ... ON DELETE CASCADE, which deletes the
    -- whole crew (and, by cascade, every membership) when its captain is deleted. The column is
    -- nullable and the FK is ON DELETE SET NULL: the crew survives without a captain until a
    -- new one is chosen.
    captain_id INT NULL,
    lieutenants JSON NULL, -- Array of character IDs
    member_count TINYINT DEFAULT 1,
    max_members TINYINT DEFAULT 16,

    -- Crew progression
    crew_level TINYINT DEFAULT 1,
    crew_experience INT DEFAULT 0,
    crew_reputation INT DEFAULT 0,

    -- Crew properties
    crew_type ENUM('combat', 'exploration', 'social', 'business', 'mixed') DEFAULT 'mixed',
    base_district_id INT NULL, -- Crew's home district

    -- Recruitment
    recruitment_open BOOLEAN DEFAULT TRUE,
    invite_only BOOLEAN DEFAULT FALSE,
    application_message TEXT,

    -- Status and activity
    is_active BOOLEAN DEFAULT TRUE,
    created_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_activity TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,

    -- DEVIATION: references the global character directory instead of characters (see above).
    FOREIGN KEY (captain_id) REFERENCES character_directory(character_id) ON DELETE SET NULL,
    FOREIGN KEY (organization_id) REFERENCES organizations(organization_id) ON DELETE SET NULL,
    FOREIGN KEY (base_district_id) REFERENCES districts(district_id) ON DELETE SET NULL,
    INDEX idx_crews_organization (organization_id),
    INDEX idx_crews_captain (captain_id),
    INDEX idx_crews_active (is_active)
);

-- Organization/Crew membership. These tables are the single truth about membership; the
-- shard-side characters.organization_id / crew_id columns are forced NULL there.
CREATE TABLE IF NOT EXISTS organization_members (
    character_id INT NOT NULL,
    organization_id INT NOT NULL,

    -- Membership details
    rank_name VARCHAR(32) DEFAULT 'Member',
    rank_level TINYINT DEFAULT 1,
    permissions INT DEFAULT 0, -- Bitfield for permissions

    -- Membership tracking
    join_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_contribution TIMESTAMP NULL,
    total_contributions INT DEFAULT 0,

    -- Status
    member_status ENUM('active', 'inactive', 'suspended') DEFAULT 'active',
    notes TEXT NULL,

    PRIMARY KEY (character_id, organization_id),
    -- DEVIATION: references the global character directory instead of characters.
    FOREIGN KEY (character_id) REFERENCES character_directory(character_id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id) REFERENCES organizations(organization_id) ON DELETE CASCADE,
    INDEX idx_org_members_org (organization_id),
    INDEX idx_org_members_rank (organization_id, rank_level)
);

CREATE TABLE IF NOT EXISTS crew_members (
    character_id INT NOT NULL,
    crew_id INT NOT NULL,

    -- Membership details
    position ENUM('captain', 'lieutenant', 'member', 'recruit') DEFAULT 'member',
    permissions INT DEFAULT 0,

    -- Membership tracking
    join_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_online TIMESTAMP NULL,
    contribution_points INT DEFAULT 0,

    -- Status
    member_status ENUM('active', 'inactive', 'on_leave') DEFAULT 'active',

    PRIMARY KEY (character_id, crew_id),
    -- DEVIATION: references the global character directory instead of characters.
    FOREIGN KEY (character_id) REFERENCES character_directory(character_id) ON DELETE CASCADE,
    FOREIGN KEY (crew_id) REFERENCES crews(crew_id) ON DELETE CASCADE,
    INDEX idx_crew_members_crew (crew_id),
    INDEX idx_crew_members_position (crew_id, position)
);

-- Server economy tracking: the cluster roll-up. Each shard keeps its own server_economy with the
-- same columns (written by that shard's UpdateEconomyMetrics); the library sums them into here.
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
