import mysql from 'mysql2/promise';
import type { ClusterConfig } from '../config/cluster-config.js';
import { describeNode, type NodeAddress } from '../config/node-address.js';
import { MxoError, ValidationError } from '../errors.js';
import { tablesOfNode, viewsOfNode } from './schema-tables.js';
import { grantStatements, USER_SPECS, type DbUser, type GrantTarget } from './user-grants.js';
import { connectionOptions } from '../pool/connection-options.js';

export interface CreateUsersOptions {
  /** Where the passwords come from (default process.env): MXO_APP_PASSWORD, MXO_MIGRATE_PASSWORD, ... */
  env?: NodeJS.ProcessEnv;
  /** The host part of every account (default `%`). */
  host?: string;
}

/** What `createUsers` did on each primary: the exact statements, passwords left out. */
export interface UsersReport {
  host: string;
  nodes: Array<{ node: string; statements: string[] }>;
}

/**
 * Creates (or updates) the five least-privilege accounts on every primary, replication carries
 * them to the replicas. Grants are made exact: everything the account had is revoked first.
 * Needs an account allowed to create users and grant these privileges (root, or an admin).
 * Throws ValidationError naming every missing or too short password variable before any change.
 */
export async function createUsers(config: ClusterConfig, options: CreateUsersOptions = {}): Promise<UsersReport> {
  const env = options.env ?? process.env;
  const host = options.host ?? '%';
  if (!/^[A-Za-z0-9_.%:-]+$/.test(host))
    throw new ValidationError('users options', [{ field: 'host', message: 'must be a host name, address or %' }]);
  const issues = USER_SPECS.filter((s) => (env[s.passwordEnv] ?? '').length < 12).map((s) => ({
    field: s.passwordEnv,
    message: 'must be set to a password of at least 12 characters',
  }));
  if (issues.length) throw new ValidationError('database user passwords', issues);
  const primaries = [
    { name: 'global-primary', node: config.global.primary, shard: false },
    ...config.shards.map((s) => ({ name: `${s.name}-primary`, node: s.primary, shard: true })),
  ];
  const report: UsersReport = { host, nodes: [] };
  for (const { name, node, shard } of primaries) {
    report.nodes.push({ node: name, statements: await applyOn(node, host, shard, env) });
  }
  return report;
}

/** The statements `createUsers` runs on a node, passwords shown as `'<MXO_..._PASSWORD>'` (for docs/operating.md and --dry-run). */
export async function plannedStatements(database: string, host: string, shard: boolean): Promise<string[]> {
  const node: GrantTarget = { database, shard, tables: await tablesOfNode(shard), views: await viewsOfNode(shard) };
  return USER_SPECS.flatMap((spec) => [
    `CREATE USER IF NOT EXISTS '${spec.user}'@'${host}' IDENTIFIED BY '<${spec.passwordEnv}>'`,
    `ALTER USER '${spec.user}'@'${host}' IDENTIFIED BY '<${spec.passwordEnv}>'`,
    `REVOKE ALL PRIVILEGES, GRANT OPTION FROM '${spec.user}'@'${host}'`,
    ...grantStatements(spec, node, host),
  ]);
}

async function applyOn(node: NodeAddress, host: string, shard: boolean, env: NodeJS.ProcessEnv): Promise<string[]> {
  const conn = await mysql.createConnection(connectionOptions(node));
  const done: string[] = [];
  const target: GrantTarget = { database: node.database, shard, tables: await tablesOfNode(shard), views: await viewsOfNode(shard) };
  try {
    for (const spec of USER_SPECS) {
      const account = `'${spec.user}'@'${host}'`;
      const password = env[spec.passwordEnv]!;
      // The password travels as an escaped literal (CREATE USER takes no placeholders); a
      // failure is reported as code and server message only, never with the statement.
      await run(conn, `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ?`, [password], node, spec.user);
      await run(conn, `ALTER USER ${account} IDENTIFIED BY ?`, [password], node, spec.user);
      done.push(`CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY '***'`);
      await run(conn, `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${account}`, [], node, spec.user);
      for (const statement of grantStatements(spec, target, host)) {
        await run(conn, statement, [], node, spec.user);
        done.push(statement);
      }
    }
    await run(conn, 'FLUSH PRIVILEGES', [], node, 'mxo_app');
    return done;
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

async function run(conn: mysql.Connection, sql: string, params: unknown[], node: NodeAddress, user: DbUser): Promise<void> {
  try {
    await conn.query(sql, params);
  } catch (error) {
    const e = error as { code?: string; sqlMessage?: string };
    throw new MxoError('USERS_FAILED', `${user} on ${describeNode(node)}: ${e.code ?? 'error'}: ${e.sqlMessage ?? 'failed'}`);
  }
}
