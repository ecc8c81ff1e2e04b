import mysql from 'mysql2/promise';
import { openCluster, startSandbox, type Cluster, type OpenClusterOptions, type Sandbox, type SandboxOptions } from '../../src/index.js';
import type { ClusterConfigInput } from '../../src/config/schema.js';

export interface TestCluster {
  sandbox: Sandbox;
  db: Cluster;
  /** Extra config merged into the sandbox's (pool, recovery, replicas, twoPhase). */
  config: ClusterConfigInput;
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
  options: SandboxOptions & { config?: Partial<ClusterConfigInput>; open?: OpenClusterOptions } = {},
): Promise<TestCluster> {
  const { config: extra, open, ...sandboxOptions } = options;
  const sandbox = await startSandbox(sandboxOptions);
  const config: ClusterConfigInput = {
    ...sandbox.config,
    recovery: { intervalMs: 0, gracePeriodMs: 2_000 },
    // Tests run maintenance jobs themselves (db.maintenance.run()) so nothing changes under them.
    maintenance: { intervalMs: 0 },
    ...extra,
  };
  let db: Cluster | undefined;
  try {
    db = await openCluster(config, open);
    await db.migrate();
  } catch (error) {
    // The original error matters most; cleanup failures are attached, not swallowed.
    const cleanup = await settle([db?.close(), sandbox.stop()]);
    if (cleanup.length > 0) throw new AggregateError([error, ...cleanup], `startTestCluster failed: ${(error as Error)?.message}`);
    throw error;
  }
  const cluster = db;
  const connections: mysql.Connection[] = [];
  return {
    sandbox,
    db: cluster,
    config,
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

/** Waits for every promise; returns the reasons of those that failed. */
async function settle(promises: Array<Promise<unknown> | undefined>): Promise<unknown[]> {
  const results = await Promise.allSettled(promises.map((p) => p ?? Promise.resolve()));
  return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
}
