-- One fence row per district this shard owns or owned. Every write routed by district reads it
-- LOCK IN SHARE MODE in its own transaction; a district mover holds it FOR UPDATE for the move's
-- short final transaction, then marks it 'moved' (writers then re-read the placement on global).
-- A district without a row here is treated as owned (config-only clusters, never moved).
CREATE TABLE IF NOT EXISTS district_fences (
    district_id INT PRIMARY KEY,
    state ENUM('owned', 'moved') NOT NULL DEFAULT 'owned',
    version INT UNSIGNED NOT NULL DEFAULT 1,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
);
