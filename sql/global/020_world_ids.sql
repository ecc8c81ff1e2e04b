-- New (issue 11): one cluster-wide sequence for world content that lives on a district's shard
-- (world_objects, hardlines, vendors, world_events, interlock_encounters). Ids from one sequence
-- are unique across shards, so a call that names only an id (setObjectState, useHardline's
-- target, interlock.round) finds its row on exactly one shard.
INSERT IGNORE INTO id_sequences (sequence_name, next_value) VALUES ('world_id', 1);
