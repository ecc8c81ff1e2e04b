import type { ReplicaPolicy } from '../config/schema.js';
import { MxoError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import type { ReplicaHealth } from '../replica/replica-health.js';
import type { ReadSession } from './read-session.js';
import type { ShardNodes } from './topology.js';

/**
 * How fresh a read must be.
 * - `strong`: the primary.
 * - `session`: sees every write of the caller's session: a replica that has applied the
 *   session's last GTID on that shard, else the primary.
 * - `eventual`: any healthy replica under the lag limit, else the primary.
 */
export type Consistency = 'strong' | 'session' | 'eventual';

/**
 * Sends each read to the node its consistency level allows, falling back to the primary.
 *
 * A `session` read with a position to honour on the shard goes, in this order:
 * 1. to a healthy replica already known to have applied the position (the lag monitor's last
 *    check, its background tracking of this process's writes, or an earlier wait): no wait;
 * 2. to the primary, when the position is a write this session made in this process that no
 *    replica is known to have yet: right after a write a replica almost never has it (stale in
 *    465 of 500 tries, docs/design.md "Measured on MariaDB 10.11"), and waiting costs more than the read. The lag monitor is told
 *    to find out, so later reads go to the replica;
 * 3. otherwise (a position from a token: written elsewhere, usually a while ago) to a healthy
 *    replica after `MASTER_GTID_WAIT(position, gtidWaitTimeoutMs)` on the same connection, and
 *    to the primary when the wait times out. The wait is never sent to a primary (it returns -1
 *    there).
 */
export class ReadRouter {
  private turn = 0;
  /** `mxo_reads_total` children bound once (a labelled inc() hashes its labels on every call). */
  private readonly readCounters = new Map<string, { inc(): void }>();

  constructor(
    private readonly metrics: Metrics,
    private readonly policy: ReplicaPolicy,
    private readonly health: ReplicaHealth,
  ) {}

  read<T>(
    nodes: ShardNodes,
    consistency: Consistency,
    session: ReadSession,
    operation: string,
    fn: (conn: PooledConnection) => Promise<T>,
  ): Promise<T> {
    // The primary's read without another async frame (point reads go this way at `strong`).
    if (consistency === 'strong' || nodes.replicas.length === 0) {
      this.readCounter(nodes.key, 'primary', consistency).inc();
      return nodes.primary.use(operation, fn);
    }
    return this.readReplicaFirst(nodes, consistency, session, operation, fn);
  }

  private async readReplicaFirst<T>(
    nodes: ShardNodes,
    consistency: Consistency,
    session: ReadSession,
    operation: string,
    fn: (conn: PooledConnection) => Promise<T>,
  ): Promise<T> {
    const shard = nodes.key;
    // A replica first (session: one that has the session's position), else the primary.
    const candidates = this.rotate(nodes.replicas.filter((r) => this.health.isUsable(r)));
    const position = consistency === 'session' ? session.positionOn(shard) : undefined;
    if (candidates.length === 0) {
      this.metrics.replicaFallbacks.inc({ shard, consistency, reason: 'no_healthy_replica' });
    } else if (!position) {
      for (const replica of candidates) {
        const served = await this.tryReplica(replica, shard, consistency, undefined, operation, fn);
        if (served.ok) return served.value;
      }
    } else {
      const known = this.health.hasApplied ? candidates.filter((r) => this.health.hasApplied!(r, position)) : [];
      for (const replica of known) {
        const served = await this.tryReplica(replica, shard, consistency, undefined, operation, fn);
        if (served.ok) return served.value;
      }
      if (known.length === 0 && session.wroteHere(shard) && this.health.track) {
        this.health.track(shard, position);
        this.metrics.replicaFallbacks.inc({ shard, consistency, reason: 'not_yet_applied' });
      } else {
        for (const replica of candidates.filter((r) => !known.includes(r))) {
          const served = await this.tryReplica(replica, shard, consistency, position, operation, fn);
          if (served.ok) return served.value;
        }
      }
    }
    this.readCounter(shard, 'primary', consistency).inc();
    return nodes.primary.use(operation, fn);
  }

  private readCounter(shard: string, role: 'primary' | 'replica', consistency: Consistency): { inc(): void } {
    const key = `${shard}\0${role}\0${consistency}`;
    let counter = this.readCounters.get(key);
    if (!counter) {
      counter = this.metrics.tally(this.metrics.reads.labels({ shard, role, consistency }));
      this.readCounters.set(key, counter);
    }
    return counter;
  }

  /** Runs the read on `replica`, first waiting for `position` when one is given. */
  private async tryReplica<T>(
    replica: NodePool,
    shard: string,
    consistency: Consistency,
    position: string | undefined,
    operation: string,
    fn: (conn: PooledConnection) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    let timer: NodeJS.Timeout | undefined;
    // A replica that stops answering (frozen, network gone) must not hold a read for the whole
    // statement timeout: past readTimeoutMs the read goes to the primary instead. The abandoned
    // replica statement ends with its own timeout and its connection is discarded then.
    const deadline = new Promise<{ ok: false }>((resolve) => {
      timer = setTimeout(() => {
        this.metrics.replicaFallbacks.inc({ shard, consistency, reason: 'replica_timeout' });
        resolve({ ok: false });
      }, this.policy.readTimeoutMs);
    });
    try {
      return await Promise.race([deadline, this.readOn(replica, shard, consistency, position, operation, fn)]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readOn<T>(
    replica: NodePool,
    shard: string,
    consistency: Consistency,
    position: string | undefined,
    operation: string,
    fn: (conn: PooledConnection) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    try {
      return await replica.use(operation, async (conn) => {
        if (position) {
          const started = performance.now();
          const rows = await conn.rows<{ applied: number | null }>('SELECT MASTER_GTID_WAIT(?, ?) AS applied', [
            position,
            this.policy.gtidWaitTimeoutMs / 1000,
          ]);
          this.metrics.replicaWait.observe({ shard }, (performance.now() - started) / 1000);
          // 0: applied; -1: timed out; NULL: error (e.g. replication not configured).
          if (rows[0]?.applied === null || Number(rows[0]?.applied) !== 0) {
            this.metrics.replicaFallbacks.inc({ shard, consistency, reason: 'gtid_wait_timeout' });
            return { ok: false as const };
          }
          this.health.noteApplied?.(replica, position);
        }
        const value = await fn(conn);
        this.readCounter(shard, 'replica', consistency).inc();
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
