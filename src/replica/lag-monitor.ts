import type { ReplicaPolicy } from '../config/schema.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NodePool } from '../pool/node-pool.js';
import { gtidPositionCovers } from './gtid-position.js';
import type { ReplicaHealth } from './replica-health.js';

/** The nodes of one shard as the monitor sees them. */
export interface MonitoredShard {
  key: string;
  primary: NodePool;
  replicas: NodePool[];
}

interface ReplicaState {
  healthy: boolean;
  lagMs: number;
  /** A primary position the replica had not applied yet, and when it was first seen. */
  target?: { position: string; seenAt: number };
  /** Consecutive good checks since the replica was excluded (rejoin needs two). */
  goodChecks: number;
}

/**
 * Watches every replica and decides which may serve reads. `Seconds_Behind_Master` alone is not
 * enough (it counts whole seconds and reads 0 during the first second of lag), so lag is also
 * measured as the time the replica has been short of a GTID position the primary already had.
 * A replica is excluded when its threads stop, it cannot be reached, or its lag passes the limit;
 * it rejoins after two consecutive good checks under half the limit (hysteresis).
 */
export class LagMonitor implements ReplicaHealth {
  private readonly states = new Map<NodePool, ReplicaState>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly topology: { all(): MonitoredShard[] },
    private readonly metrics: Metrics,
    private readonly policy: ReplicaPolicy,
  ) {}

  isUsable(replica: NodePool): boolean {
    if (replica.isDown()) return false;
    return this.states.get(replica)?.healthy ?? true;
  }

  /** Last measured lag of a replica in ms (undefined before the first check). */
  lagOf(replica: NodePool): number | undefined {
    return this.states.get(replica)?.lagMs;
  }

  start(): void {
    if (this.timer || !this.topology.all().some((s) => s.replicas.length > 0)) return;
    this.timer = setInterval(() => void this.check(), this.policy.monitorIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs one check of every replica now (also what the timer does). */
  check(): Promise<void> {
    this.running ??= this.checkAll().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Waits until every reachable replica has applied its primary's current position. */
  async waitForReplicas(timeoutMs: number): Promise<void> {
    await Promise.all(
      this.topology.all().map(async (shard) => {
        if (shard.replicas.length === 0) return;
        const position = await primaryPosition(shard.primary);
        if (!position) return;
        await Promise.all(
          shard.replicas.map((replica) =>
            replica
              .use('replica_wait', (conn) => conn.rows('SELECT MASTER_GTID_WAIT(?, ?)', [position, timeoutMs / 1000]))
              .catch(() => {}),
          ),
        );
      }),
    );
  }

  private async checkAll(): Promise<void> {
    await Promise.all(this.topology.all().map((shard) => this.checkShard(shard)));
  }

  private async checkShard(shard: MonitoredShard): Promise<void> {
    if (shard.replicas.length === 0) return;
    const position = await primaryPosition(shard.primary).catch(() => undefined);
    await Promise.all(shard.replicas.map((replica) => this.checkReplica(shard.key, replica, position)));
  }

  private async checkReplica(shard: string, replica: NodePool, primaryPos: string | undefined): Promise<void> {
    const now = Date.now();
    const state = this.states.get(replica) ?? { healthy: true, lagMs: 0, goodChecks: 0 };
    this.states.set(replica, state);
    let threadsRunning = false;
    let secondsBehind: number | null = null;
    let applied: string | undefined;
    try {
      await replica.use('replica_status', async (conn) => {
        const [status] = await conn.rows<Record<string, unknown>>('SHOW SLAVE STATUS');
        threadsRunning = status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes';
        secondsBehind = status?.Seconds_Behind_Master == null ? null : Number(status.Seconds_Behind_Master);
        const [pos] = await conn.rows<{ pos: string }>('SELECT @@gtid_slave_pos AS pos');
        applied = pos?.pos;
      });
    } catch {
      threadsRunning = false;
    }
    if (state.target && applied !== undefined && gtidPositionCovers(applied, state.target.position)) state.target = undefined;
    if (!state.target && primaryPos && applied !== undefined && !gtidPositionCovers(applied, primaryPos)) {
      state.target = { position: primaryPos, seenAt: now };
    }
    const behindMs = state.target ? now - state.target.seenAt : 0;
    state.lagMs = Math.max(behindMs, (secondsBehind ?? 0) * 1000);
    const limit = this.policy.maxLagMs;
    if (!threadsRunning || state.lagMs > limit) {
      state.healthy = false;
      state.goodChecks = 0;
    } else if (!state.healthy) {
      state.goodChecks = state.lagMs <= limit / 2 ? state.goodChecks + 1 : 0;
      if (state.goodChecks >= 2) state.healthy = true;
    }
    const node = replica.identity.name;
    this.metrics.replicaLag.set({ shard, node }, threadsRunning ? state.lagMs / 1000 : -1);
    this.metrics.replicaHealthy.set({ shard, node }, state.healthy ? 1 : 0);
  }
}

async function primaryPosition(primary: NodePool): Promise<string | undefined> {
  return primary.use('primary_position', async (conn) => {
    const [row] = await conn.rows<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos');
    return row?.pos || undefined;
  });
}
