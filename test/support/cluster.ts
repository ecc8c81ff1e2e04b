import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { asAccount } from '../../src/sim/sandbox-app-account.js';
import { openCluster, startSandbox, type Cluster, type OpenClusterOptions, type Sandbox, type SandboxOptions } from '../../src/index.js';
import type { ClusterConfigInput } from '../../src/config/schema.js';

export interface TestCluster {
  sandbox: Sandbox;
  db: Cluster;
  /**
   * The config `db` was opened with: the sandbox's nodes as the least-privilege application
   * account `mxo_app` (unless `as: 'root'`), plus the extra config (pool, recovery, twoPhase).
   */
  config: ClusterConfigInput;
  /** The sandbox's config as root, for what only an administrator does (backup, repair-replicas). */
  rootConfig: ClusterConfigInput;
  /** The sandbox's config as mxo_app (root's when `as: 'root'`): a game server's process. */
  appConfig: ClusterConfigInput;
  /**
   * A JSON file of the nodes `db` uses, for child processes: as mxo_app with
   * `passwordEnv: MXO_APP_PASSWORD` (set in this process's environment, inherited by children).
   */
  configPath: string;
  /** A direct root connection to a sandbox node, for assertions with plain SQL. */
  sql(nodeName: string): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

/**
 * Starts a sandbox, opens a migrated cluster on it, and returns both. The background recovery
 * sweep is off unless asked for, so tests decide when recovery runs. If opening or migrating
 * fails, the sandbox is stopped before the error is rethrown (no leaked servers).
 */
export async function startTestCluster(
  options: SandboxOptions & {
    config?: Partial<ClusterConfigInput>;
    open?: OpenClusterOptions;
    /**
     * The account the library runs as: `app` (default) migrates as root, creates the five
     * least-privilege accounts (`db.createUsers`) and opens `db` as mxo_app, as a cluster
     * server would run; `operator` likewise but opens `db` as mxo_migrate, the account district
     * moves and add-shard run as (mxo_app cannot write the cluster's shape); `root` for tests of
     * administration itself (users, backup, replica repair).
     */
    as?: 'app' | 'operator' | 'root';
    /** Shard names to use instead of the sandbox's (alpha, beta, ...), in order: e.g. `['a_1', 'a1']`. */
    shardNames?: string[];
  } = {},
): Promise<TestCluster> {
  const { config: extra, open, as = 'app', shardNames, ...sandboxOptions } = options;
  const sandbox = await startSandbox(sandboxOptions);
  const named = shardNames ? sandbox.config.shards.map((s, i) => ({ ...s, name: shardNames[i] ?? s.name })) : sandbox.config.shards;
  const rootConfig: ClusterConfigInput = {
    ...sandbox.config,
    shards: named,
    recovery: { intervalMs: 0, gracePeriodMs: 2_000 },
    // Tests run maintenance jobs themselves (db.maintenance.run()) so nothing changes under them.
    maintenance: { intervalMs: 0 },
    ...extra,
  };
  let config = rootConfig;
  let db: Cluster | undefined;
  try {
    db = await openCluster(rootConfig, open);
    await db.migrate();
    if (as !== 'root') {
      await db.createUsers({ env: TEST_USER_PASSWORDS });
      // The accounts reach the replicas by replication: a replica opened before it has them
      // would refuse mxo_app and be marked unhealthy.
      await db.waitForReplicas(30_000);
      await db.close();
      db = undefined;
      config = asUser(rootConfig, ACCOUNT[as].user, TEST_USER_PASSWORDS[ACCOUNT[as].env]);
      db = await openCluster(config, open);
      // As migrate does for a root cluster: start the lag monitor's checks with replicas caught up.
      await db.waitForReplicas(30_000);
    }
  } catch (error) {
    // The original error matters most; cleanup failures are attached, not swallowed.
    const cleanup = await settle([db?.close(), sandbox.stop()]);
    if (cleanup.length > 0) throw new AggregateError([error, ...cleanup], `startTestCluster failed: ${(error as Error)?.message}`);
    throw error;
  }
  const cluster = db;
  const connections: mysql.Connection[] = [];
  const configPath = as !== 'root' ? path.join(sandbox.dir, `cluster-${ACCOUNT[as].user}.json`) : sandbox.configPath;
  if (as !== 'root') {
    process.env[ACCOUNT[as].env] = TEST_USER_PASSWORDS[ACCOUNT[as].env];
    writeFileSync(configPath, JSON.stringify(asAccount(rootConfig, ACCOUNT[as].user, ACCOUNT[as].env), null, 2));
  }
  return {
    sandbox,
    db: cluster,
    config,
    rootConfig,
    appConfig: as === 'root' ? rootConfig : asUser(rootConfig, 'mxo_app', TEST_USER_PASSWORDS.MXO_APP_PASSWORD),
    configPath,
    async sql(nodeName) {
      const node = sandbox.node(nodeName);
      const database = nodeName.startsWith('global') ? 'mxo_global' : 'mxo_shard';
      const conn = await mysql.createConnection({ host: node.host, port: node.port, user: 'root', database });
      connections.push(conn);
      return conn;
    },
    async stop() {
      // A test connection may be dead already (its server was killed): destroying it is the cleanup.
      await Promise.all(connections.map((c) => c.end().catch(() => c.destroy())));
      // The sandbox is stopped even when close() fails, and then the failure is reported.
      const failures = await settle([cluster.close()]);
      failures.push(...(await settle([sandbox.stop()])));
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, 'test cluster stop failed');
    },
  };
}

/** The account each `as` opens `db` with, and its password variable. */
const ACCOUNT = {
  app: { user: 'mxo_app', env: 'MXO_APP_PASSWORD' },
  operator: { user: 'mxo_migrate', env: 'MXO_MIGRATE_PASSWORD' },
} as const;

/**
 * Passwords for the sandbox's least-privilege accounts: random per test process, never written
 * anywhere but the throwaway servers.
 */
export const TEST_USER_PASSWORDS = Object.fromEntries(
  ['MXO_APP_PASSWORD', 'MXO_MIGRATE_PASSWORD', 'MXO_BACKUP_PASSWORD', 'MXO_REPL_PASSWORD', 'MXO_MONITOR_PASSWORD'].map((name) => [
    name,
    `${name.slice(4, 7).toLowerCase()}-${randomBytes(12).toString('hex')}`,
  ]),
) as Record<'MXO_APP_PASSWORD' | 'MXO_MIGRATE_PASSWORD' | 'MXO_BACKUP_PASSWORD' | 'MXO_REPL_PASSWORD' | 'MXO_MONITOR_PASSWORD', string>;

/** The config with every node's `mysql://root@` URL logging in as `user` instead. */
export function asUser(config: ClusterConfigInput, user: string, password: string): ClusterConfigInput {
  const as = (url: string) => url.replace('mysql://root@', `mysql://${user}:${encodeURIComponent(password)}@`);
  const nodeUrl = (node: unknown) => {
    if (typeof node !== 'string') throw new Error('asUser expects node URLs');
    return as(node);
  };
  return {
    ...config,
    global: { ...config.global, primary: nodeUrl(config.global.primary), replicas: (config.global.replicas ?? []).map(nodeUrl) },
    shards: config.shards.map((s) => ({ ...s, primary: nodeUrl(s.primary), replicas: (s.replicas ?? []).map(nodeUrl) })),
  };
}

/** Waits for every promise; returns the reasons of those that failed. */
async function settle(promises: Array<Promise<unknown> | undefined>): Promise<unknown[]> {
  const results = await Promise.allSettled(promises.map((p) => p ?? Promise.resolve()));
  return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
}
