import mysql from 'mysql2/promise';
import { openCluster, startSandbox, type Cluster, type ClusterConfigInput, type SandboxOptions } from '../src/index.js';

export interface BenchCluster {
  db: Cluster;
  /** A direct root connection to a sandbox node (its database: mxo_global or mxo_shard), for raw baselines. */
  connect(nodeName: string): Promise<mysql.Connection>;
  /** Another handle on the same cluster with `config` on top (closed with the cluster). */
  open(config: Partial<ClusterConfigInput>): Promise<Cluster>;
}

/** Runs a benchmark on its own sandbox cluster (migrated, recovery sweep off) and tears it down. */
export async function withBenchCluster(
  sandboxOptions: SandboxOptions,
  config: Partial<ClusterConfigInput>,
  fn: (cluster: BenchCluster) => Promise<void>,
): Promise<void> {
  const sandbox = await startSandbox(sandboxOptions);
  const direct: mysql.Connection[] = [];
  let db: Cluster | undefined;
  const others: Cluster[] = [];
  try {
    db = await openCluster({ ...sandbox.config, recovery: { intervalMs: 0, gracePeriodMs: 60_000 }, ...config });
    await db.migrate();
    await fn({
      db,
      async connect(name) {
        const node = sandbox.node(name);
        const conn = await mysql.createConnection({
          host: node.host,
          port: node.port,
          user: 'root',
          database: name.startsWith('global') ? 'mxo_global' : 'mxo_shard',
        });
        direct.push(conn);
        return conn;
      },
      async open(more) {
        const other = await openCluster({ ...sandbox.config, recovery: { intervalMs: 0, gracePeriodMs: 60_000 }, ...config, ...more });
        others.push(other);
        return other;
      },
    });
  } finally {
    await Promise.all(direct.map((c) => c.end().catch(() => c.destroy())));
    await Promise.all(others.map((o) => o.close()));
    await db?.close();
    await sandbox.stop();
  }
}

/**
 * The servers' own statement counters (`Questions`) by name: taken before and after a stretch of
 * sequential work, their difference minus one (this SHOW itself) is what each server received.
 */
export async function questions(conns: Record<string, mysql.Connection>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, c] of Object.entries(conns)) {
    const [rows] = (await c.query("SHOW GLOBAL STATUS LIKE 'Questions'")) as unknown as [Array<{ Value: string }>];
    out[name] = Number(rows[0]!.Value);
  }
  return out;
}
