-- District placement lives in the cluster (docs/design.md, "District placement in the cluster"):
-- shards.config.ts seeds it at migrate; once a row exists it wins over the config. A live move
-- flips shard_name and bumps version in the same two-phase commit that moves the rows.
CREATE TABLE IF NOT EXISTS district_placement (
    district_id INT PRIMARY KEY,
    shard_name VARCHAR(64) NOT NULL,
    version INT UNSIGNED NOT NULL DEFAULT 1,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
);

-- The journal of district moves: 'copying' until the move's two-phase commit decides. The commit
-- itself sets 'done'; a mover that failed before it sets 'rolled_back'; a row left 'copying' by a
-- crashed mover is settled by db.admin.recoverMoves() (or the next moveDistrict of the district).
CREATE TABLE IF NOT EXISTS district_moves (
    move_id BIGINT AUTO_INCREMENT PRIMARY KEY,
    district_id INT NOT NULL,
    from_shard VARCHAR(64) NOT NULL,
    to_shard VARCHAR(64) NOT NULL,
    state ENUM('copying', 'done', 'rolled_back') NOT NULL DEFAULT 'copying',
    characters_moved INT UNSIGNED NULL,
    rows_moved INT UNSIGNED NULL,
    fence_ms INT UNSIGNED NULL,
    error_message VARCHAR(512) NULL,
    started_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at TIMESTAMP(6) NULL,
    INDEX idx_district_moves_state (state, district_id)
);

-- Shards added at run time (db.admin.addShard), so other processes can see what exists. No
-- password is stored: a process reaches a new shard only with it in its own config.
CREATE TABLE IF NOT EXISTS cluster_shards (
    shard_name VARCHAR(64) PRIMARY KEY,
    primary_host VARCHAR(255) NOT NULL,
    primary_port INT UNSIGNED NOT NULL,
    database_name VARCHAR(64) NOT NULL,
    replica_count INT UNSIGNED NOT NULL DEFAULT 0,
    added_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);
