/**
 * The five database accounts and their exact grants (docs/operating.md, "Database users"). Each statement
 * is applied on every primary (replication copies it to the replicas) with `{db}` replaced by
 * that node's database. Measured on MariaDB 10.11.19 (test/users.test.ts):
 * - XA RECOVER lists every session's prepared branches and XA COMMIT/ROLLBACK of a branch
 *   whose session is gone needs no privilege beyond the tables' own: recovery runs as mxo_app.
 * - KILL of a connection of the same account needs no privilege; recovery only ends sessions
 *   that prepared its own branches (mxo_app). Ending another account's session would need
 *   CONNECTION ADMIN (PROCESS is not enough: error 1095 "not owner of thread"): not granted.
 * - PROCESS: information_schema.INNODB_TRX / INNODB_LOCK_WAITS (a stale decision's lock holders,
 *   twopc/decision.ts) show nothing without it.
 * - SLAVE MONITOR: SHOW SLAVE STATUS (the lag monitor, backup's replica health check).
 */
export type DbUser = 'mxo_app' | 'mxo_migrate' | 'mxo_backup' | 'mxo_repl' | 'mxo_monitor';

export interface UserSpec {
  user: DbUser;
  /** The environment variable holding its password. */
  passwordEnv: string;
  purpose: string;
  /** GRANT statements without the `TO user` part; `{db}` is the node's database. */
  grants: string[];
  /** Only on shard primaries (tables that exist only there). */
  shardGrants?: string[];
}

export const USER_SPECS: UserSpec[] = [
  {
    user: 'mxo_app',
    passwordEnv: 'MXO_APP_PASSWORD',
    purpose: 'the library at run time (routing, XA 2PC and its recovery, replica lag checks, maintenance)',
    grants: ['GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON `{db}`.*', 'GRANT PROCESS, SLAVE MONITOR ON *.*'],
    // Maintenance rolls the log tables' partitions forward (ALTER TABLE ... REORGANIZE PARTITION).
    shardGrants: [
      'GRANT ALTER, DROP ON `{db}`.`system_logs`',
      'GRANT ALTER, DROP ON `{db}`.`player_action_logs`',
      'GRANT ALTER, DROP ON `{db}`.`chat_logs`',
    ],
  },
  {
    user: 'mxo_migrate',
    passwordEnv: 'MXO_MIGRATE_PASSWORD',
    purpose: '`migrate`: creates the database and applies sql/ (tables, indexes, procedures, triggers, events)',
    grants: [
      'GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EXECUTE, TRIGGER, EVENT, LOCK TABLES, CREATE TEMPORARY TABLES ON `{db}`.*',
    ],
  },
  {
    user: 'mxo_backup',
    passwordEnv: 'MXO_BACKUP_PASSWORD',
    purpose: '`backup`: the consistent cut (FLUSH TABLES WITH READ LOCK), dumps, replica health',
    grants: [
      'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{db}`.*',
      // mariadb-dump --routines reads routine bodies from mysql.proc.
      'GRANT SELECT ON `mysql`.`proc`',
      'GRANT RELOAD, SLAVE MONITOR ON *.*',
    ],
  },
  {
    user: 'mxo_repl',
    passwordEnv: 'MXO_REPL_PASSWORD',
    purpose: 'replicas connecting to their primary (CHANGE MASTER TO MASTER_USER=mxo_repl)',
    grants: ['GRANT REPLICATION SLAVE ON *.*'],
  },
  {
    user: 'mxo_monitor',
    passwordEnv: 'MXO_MONITOR_PASSWORD',
    purpose: '`status` and a Prometheus MySQL exporter: server, replication and binlog state, read-only',
    grants: ['GRANT SELECT ON `{db}`.*', 'GRANT PROCESS, SLAVE MONITOR, BINLOG MONITOR ON *.*'],
  },
];

/** The statements for one user on one node, in order (no password: it is bound separately). */
export function grantStatements(spec: UserSpec, database: string, host: string, shard: boolean): string[] {
  const to = `TO '${spec.user}'@'${host}'`;
  const grants = [...spec.grants, ...(shard ? (spec.shardGrants ?? []) : [])];
  return grants.map((g) => `${g.replaceAll('{db}', database)} ${to}`);
}
