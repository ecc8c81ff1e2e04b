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
 * sweep is off unless asked for, so tests decide when recovery runs.
 */
export async function startTestCluster(
  options: SandboxOptions & { config?: Partial<ClusterConfigInput>; open?: OpenClusterOptions } = {},
): Promise<TestCluster> {
  const { config: extra, open, ...sandboxOptions } = options;
  const sandbox = await startSandbox(sandboxOptions);
  const config: ClusterConfigInput = {
    ...sandbox.config,
    recovery: { intervalMs: 0, gracePeriodMs: 2_000 },
    ...extra,
  };
  const db = await openCluster(config, open);
  const connections: mysql.Connection[] = [];
  try {
    await db.migrate();
  } catch (error) {
    await db.close();
    await sandbox.stop();
    throw error;
  }
  return {
    sandbox,
    db,
    config,
    async sql(nodeName) {
      const node = sandbox.node(nodeName);
      const database = nodeName.startsWith('global') ? 'mxo_global' : 'mxo_shard';
      const conn = await mysql.createConnection({ host: node.host, port: node.port, user: 'root', database });
      connections.push(conn);
      return conn;
    },
    async stop() {
      await Promise.all(connections.map((c) => c.end().catch(() => c.destroy())));
      await db.close().catch(() => {});
      await sandbox.stop();
    },
  };
}
