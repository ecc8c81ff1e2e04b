/**
 * The five database accounts and their exact grants (docs/operating.md, "Database users"). Each statement
 * is applied on every primary (replication copies it to the replicas) with `{db}` replaced by
 * that node's database. Table-level grants name every table the migrations create on the node
 * (src/ops/schema-tables.ts): MariaDB cannot subtract a table from a database-wide grant.
 * Measured on MariaDB 10.11.19 (test/users.test.ts):
 * - XA RECOVER lists every session's prepared branches and XA COMMIT/ROLLBACK of a branch
 *   whose session is gone needs no privilege beyond the tables' own: recovery runs as mxo_app.
 * - KILL of a connection of the same account needs no privilege, and information_schema.PROCESSLIST
 *   shows the account's own sessions without PROCESS: recovery only ends sessions that prepared
 *   its own branches or hold its own commit records (twopc_decisions.holder_thread). Ending another
 *   account's session would need CONNECTION ADMIN (PROCESS is not enough: error 1095): not granted.
 * - SLAVE MONITOR: SHOW SLAVE STATUS (the lag monitor, backup's replica health check).
 *
 * What mxo_app must not do (issue 23, H2 and M8), and so is not granted:
 * - write the cluster's shape on global (TOPOLOGY_TABLES): a compromised game server could send
 *   every process to a host of its choosing. District moves and add-shard run as an operator
 *   account (mxo_migrate or root); the application only reads these tables.
 * - DELETE, ALTER or DROP the log tables (the audit trail): log partitions are rolled by the
 *   definer-rights procedure EnsureLogPartitions (EXECUTE only).
 * - PROCESS (every session's SQL text).
 */
export type DbUser = 'mxo_app' | 'mxo_migrate' | 'mxo_backup' | 'mxo_repl' | 'mxo_monitor';

/** Global tables that say where shards and districts are: read-only to the application. */
export const TOPOLOGY_TABLES = ['cluster_shards', 'district_placement', 'district_moves', 'shard_primaries'];
/** Shard tables the application appends to (and flags, moderation) but never deletes from. */
export const AUDIT_TABLES = ['system_logs', 'player_action_logs', 'chat_logs'];
/** Global tables holding secrets (password hashes, TOTP, reset tokens, login keys, sessions, tickets): not for mxo_monitor. */
export const SECRET_TABLES = ['accounts', 'account_security', 'account_sessions', 'account_login_keys', 'login_throttle', 'presence_handoffs'];

/** The node a grant list is for: its database, tier and the tables the migrations create there. */
export interface GrantTarget {
  database: string;
  shard: boolean;
  tables: string[];
  /** Views: SELECT for the accounts that read tables. */
  views: string[];
}

export interface UserSpec {
  user: DbUser;
  /** The environment variable holding its password. */
  passwordEnv: string;
  purpose: string;
  /** GRANT statements without the `TO user` part, for one node. */
  grants(node: GrantTarget): string[];
}

const on = (node: GrantTarget, table: string) => `\`${node.database}\`.\`${table}\``;

export const USER_SPECS: UserSpec[] = [
  {
    user: 'mxo_app',
    passwordEnv: 'MXO_APP_PASSWORD',
    purpose: 'the library at run time (routing, XA 2PC and its recovery, replica lag checks, maintenance)',
    grants: (node) => [
      `GRANT EXECUTE ON \`${node.database}\`.*`,
      'GRANT SLAVE MONITOR ON *.*',
      `GRANT SELECT ON ${on(node, 'schema_migrations')}`,
      ...node.tables.map((t) => {
        if (!node.shard && TOPOLOGY_TABLES.includes(t)) return `GRANT SELECT ON ${on(node, t)}`;
        if (node.shard && AUDIT_TABLES.includes(t)) return `GRANT SELECT, INSERT, UPDATE ON ${on(node, t)}`;
        return `GRANT SELECT, INSERT, UPDATE, DELETE ON ${on(node, t)}`;
      }),
      ...node.views.map((v) => `GRANT SELECT ON ${on(node, v)}`),
    ],
  },
  {
    user: 'mxo_migrate',
    passwordEnv: 'MXO_MIGRATE_PASSWORD',
    purpose:
      '`migrate`: creates the database and applies sql/ (tables, indexes, procedures, triggers, events); also the operator account for `move-district` and `add-shard`',
    grants: (node) => [
      `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EXECUTE, TRIGGER, EVENT, LOCK TABLES, CREATE TEMPORARY TABLES ON \`${node.database}\`.*`,
      // District moves and add-shard check replication state like the application does.
      'GRANT SLAVE MONITOR ON *.*',
    ],
  },
  {
    user: 'mxo_backup',
    passwordEnv: 'MXO_BACKUP_PASSWORD',
    purpose: '`backup`: the consistent cut (FLUSH TABLES WITH READ LOCK), dumps, replica health',
    grants: (node) => [
      `GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON \`${node.database}\`.*`,
      // mariadb-dump --routines reads routine bodies from mysql.proc.
      'GRANT SELECT ON `mysql`.`proc`',
      'GRANT RELOAD, SLAVE MONITOR ON *.*',
    ],
  },
  {
    user: 'mxo_repl',
    passwordEnv: 'MXO_REPL_PASSWORD',
    purpose: 'replicas connecting to their primary (CHANGE MASTER TO MASTER_USER=mxo_repl)',
    grants: () => ['GRANT REPLICATION SLAVE ON *.*'],
  },
  {
    user: 'mxo_monitor',
    passwordEnv: 'MXO_MONITOR_PASSWORD',
    purpose: '`status` and a Prometheus MySQL exporter: server, replication and binlog state, read-only, no secret tables',
    grants: (node) => [
      'GRANT PROCESS, SLAVE MONITOR, BINLOG MONITOR ON *.*',
      ...node.tables.filter((t) => node.shard || !SECRET_TABLES.includes(t)).map((t) => `GRANT SELECT ON ${on(node, t)}`),
      ...node.views.map((v) => `GRANT SELECT ON ${on(node, v)}`),
      // `status` reads which migrations each node has (not a migration-created table).
      `GRANT SELECT ON ${on(node, 'schema_migrations')}`,
    ],
  },
];

/** The statements for one user on one node, in order (no password: it is bound separately). */
export function grantStatements(spec: UserSpec, node: GrantTarget, host: string): string[] {
  const to = `TO '${spec.user}'@'${host}'`;
  return spec.grants(node).map((g) => `${g} ${to}`);
}
