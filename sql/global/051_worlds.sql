-- World registry (issue 18): the worlds the login server lists, with their status and population
-- as their servers last reported them (report time by this server's clock).
CREATE TABLE IF NOT EXISTS worlds (
    world_id INT NOT NULL PRIMARY KEY, -- the client's world id, chosen by the operator
    world_name VARCHAR(64) NOT NULL UNIQUE,
    pvp_type ENUM('pve', 'pvp') NOT NULL DEFAULT 'pve',
    status ENUM('offline', 'online', 'busy', 'full', 'locked') NOT NULL DEFAULT 'offline',
    population INT NOT NULL DEFAULT 0,
    last_report_at TIMESTAMP(6) NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT chk_worlds_population CHECK (population >= 0)
);

-- Each character names its world; kept in the directory too so findByName is one read on global.
ALTER TABLE character_directory ADD COLUMN IF NOT EXISTS world_id INT NULL;
