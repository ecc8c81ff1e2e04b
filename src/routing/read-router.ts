import type { ReplicaPolicy } from '../config/schema.js';
import { MxoError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import type { ReplicaHealth } from '../replica/replica-health.js';
import type { SessionState } from './session.js';
import type { ShardNodes } from './topology.js';

/**
 * How fresh a read must be.
 * - `strong`: the primary.
 * - `session`: sees every write of the caller's session: a replica that has applied the
 *   session's last GTID on that shard (checked with MASTER_GTID_WAIT), else the primary.
 * - `eventual`: any healthy replica under the lag limit, else the primary.
 */
export type Consistency = 'strong' | 'session' | 'eventual';

/** Sends each read to the node its consistency level allows, falling back to the primary. */
export class ReadRouter {
  private turn = 0;

  constructor(
    private readonly metrics: Metrics,
    private readonly policy: ReplicaPolicy,
    private readonly health: ReplicaHealth,
  ) {}

  async read<T>(
    nodes: ShardNodes,
    consistency: Consistency,
    session: SessionState,
    operation: string,
    fn: (conn: PooledConnection) => Promise<T>,
  ): Promise<T> {
    const shard = nodes.key;
    if (consistency !== 'strong') {
      const candidates = nodes.replicas.filter((r) => this.health.isUsable(r));
      if (nodes.replicas.length > 0 && candidates.length === 0) {
        this.metrics.replicaFallbacks.inc({ shard, consistency, reason: 'no_healthy_replica' });
      }
      for (const replica of this.rotate(candidates)) {
        const served = await this.tryReplica(replica, nodes.key, consistency, session, operation, fn);
        if (served.ok) return served.value;
      }
    }
    this.metrics.reads.inc({ shard, role: 'primary', consistency });
    return nodes.primary.use(operation, fn);
  }

  private async tryReplica<T>(
    replica: NodePool,
    shard: string,
    consistency: Consistency,
    session: SessionState,
    operation: string,
    fn: (conn: PooledConnection) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    const position = consistency === 'session' ? session.positionOn(shard) : undefined;
    try {
      return await replica.use(operation, async (conn) => {
        if (position) {
          const started = performance.now();
          // Never sent to a primary: there it returns -1 (it only looks at the replica position).
          const rows = await conn.rows<{ applied: number | null }>('SELECT MASTER_GTID_WAIT(?, ?) AS applied', [
            position,
            this.policy.gtidWaitTimeoutMs / 1000,
          ]);
          this.metrics.replicaWait.observe({ shard }, (performance.now() - started) / 1000);
          if (Number(rows[0]?.applied) !== 0) {
            this.metrics.replicaFallbacks.inc({ shard, consistency, reason: 'gtid_wait_timeout' });
            return { ok: false as const };
          }
        }
        const value = await fn(conn);
        this.metrics.reads.inc({ shard, role: 'replica', consistency });
        return { ok: true as const, value };
      });
    } catch (error) {
      // A replica that fails is skipped; errors of the read itself (bad input) are the caller's.
      if (error instanceof MxoError && !['SHARD_UNAVAILABLE', 'ACQUIRE_TIMEOUT'].includes(error.code)) throw error;
      this.metrics.replicaFallbacks.inc({ shard, consistency, reason: 'replica_error' });
      return { ok: false };
    }
  }

  private rotate(replicas: NodePool[]): NodePool[] {
    if (replicas.length < 2) return replicas;
    const start = this.turn++ % replicas.length;
    return [...replicas.slice(start), ...replicas.slice(0, start)];
  }
}
