-- When each maintenance job last ran, cluster-wide: a process takes the job's lease (GET_LOCK on
-- this server) and runs it only if its period has passed by this server's clock, so N processes
-- run each job once per period, not N times (docs/design.md, "Maintenance").
CREATE TABLE IF NOT EXISTS maintenance_runs (
    job_name VARCHAR(32) PRIMARY KEY,
    last_started TIMESTAMP(6) NULL,
    last_finished TIMESTAMP(6) NULL,
    last_outcome VARCHAR(255) NULL
);
