-- Where each shard's primary and replicas are after a failover (db.admin.failover, `mxo-data
-- failover`): no row means the config's nodes. A failover bumps version in the same transaction
-- that names the promoted primary; every process re-reads this table (on a timer, and at once
-- when a write finds its primary gone or read-only) and follows without a restart. No password is
-- stored: a process reaches the new nodes with the user and password its config has for the shard.
CREATE TABLE IF NOT EXISTS shard_primaries (
    shard_name VARCHAR(64) PRIMARY KEY,
    primary_host VARCHAR(255) NOT NULL,
    primary_port INT UNSIGNED NOT NULL,
    -- The shard's replicas after the failover, `host:port` comma-separated ('' for none).
    replicas VARCHAR(2048) NOT NULL DEFAULT '',
    version INT UNSIGNED NOT NULL DEFAULT 1,
    previous_host VARCHAR(255) NULL,
    previous_port INT UNSIGNED NULL,
    -- @@gtid_binlog_pos of the promoted server when it took over.
    promoted_at_gtid VARCHAR(512) NULL,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
);
