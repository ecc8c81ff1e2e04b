import type { ReplicaPolicy } from '../config/schema.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NodePool } from '../pool/node-pool.js';
import { gtidPositionCovers, mergeGtidPositions } from './gtid-position.js';
import type { ReplicaHealth } from './replica-health.js';

/** The nodes of one shard as the monitor sees them. */
export interface MonitoredShard {
  key: string;
  primary: NodePool;
  replicas: NodePool[];
}

interface ReplicaState {
  /** Undefined until the first check: a replica nobody has looked at serves no reads. */
  healthy: boolean | undefined;
  lagMs: number;
  /**
   * Primary positions seen by earlier checks that the replica had not applied yet, oldest first,
   * with when the primary was seen at them. The oldest one still missing dates the lag.
   */
  behind: Array<{ position: string; seenAt: number }>;
  /** When the primary was last seen at a position this replica has since applied. */
  coveredAt?: number;
  /** Consecutive good checks since the replica was excluded (rejoin needs two). */
  goodChecks: number;
  /** A position the replica is known to have applied (its last checked position, or a wait's). */
  applied?: string;
  /** Background learner: the newest written position to find applied, and whether it runs. */
  learnTarget?: string;
  learning: boolean;
  /** When the learner last started a wait (they are spaced by LEARN_SPACING_MS). */
  learnedAt: number;
}

/**
 * Minimum time between two background GTID waits on one replica: under a stream of writes the
 * learner costs at most ~100 cheap statements a second per replica, and a session read within
 * about this long after its own write goes to the primary.
 */
const LEARN_SPACING_MS = 10;

/** More samples than this are thinned from the middle (the oldest one dates the lag). */
const MAX_BEHIND_SAMPLES = 256;

/**
 * Watches every replica and decides which may serve reads. `Seconds_Behind_Master` alone is not
 * enough (it counts whole seconds and reads 0 during the first second of lag, and most of the
 * time behind a MASTER_DELAY), so lag is bounded with GTID positions instead. Each check reads
 * the primary's `@@gtid_binlog_pos`, then gives the replica up to half the limit to reach it
 * (`MASTER_GTID_WAIT`):
 * - lower bound: the time since the primary was first seen at the oldest recorded position the
 *   replica still lacks (it is at least that far behind). Above the limit, or with a replication
 *   thread stopped, or unreachable or not answering in time, the replica is excluded.
 * - upper bound: the time since the primary was last seen at a position the replica has applied
 *   (it has everything older). An excluded replica rejoins after two consecutive checks with the
 *   upper bound under half the limit (hysteresis, and proof: a replica whose real lag swings
 *   across the limit does not flap back in because one sample looked small).
 * A replica serves no reads before its first check, and its first check must prove it within the
 * limit.
 *
 * While the primary is unreachable, a replica whose applier runs keeps its verdict and its last
 * measured lag: a primary that takes no writes cannot be got further ahead of, so its replicas
 * go on serving `eventual` reads (and `session` reads of positions they hold) through the outage.
 *
 * It also tracks what each replica is known to have applied, so a session read whose position
 * the replica already has needs no `MASTER_GTID_WAIT` round trip: every check records the
 * replica's `@@gtid_slave_pos`, and every write a session records in this process starts (at
 * most one per replica at a time, spaced by {@link LEARN_SPACING_MS}) a background
 * `MASTER_GTID_WAIT` that notes when it is applied.
 */
export class LagMonitor implements ReplicaHealth {
  private readonly states = new Map<NodePool, ReplicaState>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly topology: { all(): MonitoredShard[] },
    private readonly metrics: Metrics,
    private readonly policy: ReplicaPolicy,
  ) {}

  isUsable(replica: NodePool): boolean {
    if (replica.isDown()) return false;
    const state = this.states.get(replica);
    // Never checked yet: check now (in the background) and read elsewhere meanwhile.
    if (!state && this.started) void this.check();
    return state?.healthy === true;
  }

  /**
   * What the monitor last concluded about a replica: whether it serves reads and its lag in ms as
   * last measured (kept while its primary is unreachable); undefined before its first check.
   */
  verdict(replica: NodePool): { servesReads: boolean; lagMs: number } | undefined {
    const state = this.states.get(replica);
    if (state?.healthy === undefined) return undefined;
    return { servesReads: state.healthy && !replica.isDown(), lagMs: state.lagMs };
  }

  /** True when the replica is known to have applied `position`. */
  hasApplied(replica: NodePool, position: string): boolean {
    const applied = this.states.get(replica)?.applied;
    return applied !== undefined && gtidPositionCovers(applied, position);
  }

  noteApplied(replica: NodePool, position: string): void {
    const state = this.stateOf(replica);
    state.applied = mergeGtidPositions(state.applied, position);
  }

  /** A session wrote `position` on `shard` (ReadSession's observer): learn when replicas apply it. */
  noteWrite(shard: string, position: string): void {
    this.track(shard, position);
  }

  track(shard: string, position: string): void {
    if (!this.started) return;
    const nodes = this.topology.all().find((s) => s.key === shard);
    for (const replica of nodes?.replicas ?? []) this.learn(replica, position);
  }

  /**
   * Checks every replica every `monitorIntervalMs`, from the first check on: that runs on the
   * first read that asks for a replica, the first tracked write, or at the end of
   * `waitForReplicas` (migrate), never at once: before migrate the databases may not exist, and a
   * refused connection would mark the node down (and make migrate fail).
   */
  start(): void {
    if (this.started || !this.topology.all().some((s) => s.replicas.length > 0)) return;
    this.started = true;
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs one check of every replica now (also what the timer does). */
  check(): Promise<void> {
    if (this.started && !this.timer) {
      this.timer = setInterval(() => void this.check(), this.policy.monitorIntervalMs);
      this.timer.unref();
    }
    this.running ??= this.checkAll().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Waits until every reachable replica has applied its primary's current position, then checks them. */
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
    if (this.started) await this.check();
  }

  private stateOf(replica: NodePool): ReplicaState {
    let state = this.states.get(replica);
    if (!state) {
      state = { healthy: undefined, lagMs: 0, behind: [], goodChecks: 0, learning: false, learnedAt: 0 };
      this.states.set(replica, state);
    }
    return state;
  }

  private async checkAll(): Promise<void> {
    await Promise.all(this.topology.all().map((shard) => this.checkShard(shard)));
  }

  private async checkShard(shard: MonitoredShard): Promise<void> {
    if (shard.replicas.length === 0) return;
    let primaryDown = false;
    const primary = await primaryPosition(shard.primary)
      .then((position) => (position ? { position, seenAt: Date.now() } : undefined))
      .catch(() => {
        primaryDown = true;
        return undefined;
      });
    await Promise.all(shard.replicas.map((replica) => this.checkReplica(shard.key, replica, primary, primaryDown)));
  }

  private async checkReplica(
    shard: string,
    replica: NodePool,
    primary: { position: string; seenAt: number } | undefined,
    primaryDown: boolean,
  ): Promise<void> {
    const state = this.stateOf(replica);
    const limit = this.policy.maxLagMs;
    const status = await withTimeout(
      replica.use('replica_status', async (conn) => {
        const [row] = await conn.rows<Record<string, unknown>>('SHOW SLAVE STATUS');
        const running = row?.Slave_IO_Running === 'Yes' && row?.Slave_SQL_Running === 'Yes';
        const sqlRunning = row?.Slave_SQL_Running === 'Yes';
        // Give the replica up to half the limit to reach the position the primary just had: if it
        // does, it is at most that far behind (the proof a rejoin needs).
        let reached = false;
        if (running && primary) {
          const [wait] = await conn.rows<{ applied: number | null }>('SELECT MASTER_GTID_WAIT(?, ?) AS applied', [
            primary.position,
            limit / 2 / 1000,
          ]);
          reached = wait?.applied != null && Number(wait.applied) === 0;
        }
        const [pos] = await conn.rows<{ pos: string }>('SELECT @@gtid_slave_pos AS pos');
        return {
          running,
          sqlRunning,
          reached,
          secondsBehind: row?.Seconds_Behind_Master == null ? 0 : Number(row.Seconds_Behind_Master),
          applied: pos?.pos ?? '',
        };
      }),
      // A replica that cannot say where it is in time cannot vouch for its lag.
      limit / 2 + 1_000,
    ).catch(() => undefined);
    const now = Date.now();
    const node = replica.identity.name;
    if (primaryDown && status?.sqlRunning) {
      // The primary is unreachable (from here, and its receiver thread says from the replica too):
      // it takes no writes, so the replica cannot fall further behind than when last measured.
      // Keep its verdict and its last measured lag; time alone does not make it staler. A replica
      // whose applier stopped, or that does not answer, is judged as usual below.
      state.applied = status.applied || state.applied;
      this.metrics.replicaLag.set({ shard, node }, state.lagMs / 1000);
      this.metrics.replicaHealthy.set({ shard, node }, state.healthy ? 1 : 0);
      return;
    }
    if (!status) {
      // Unreachable or not answering: forget what it had applied (it may come back rebuilt).
      state.behind = [];
      state.applied = undefined;
      state.coveredAt = undefined;
    } else {
      const { applied } = status;
      state.applied = applied || undefined;
      for (const sample of state.behind) {
        if (gtidPositionCovers(applied, sample.position)) state.coveredAt = Math.max(state.coveredAt ?? 0, sample.seenAt);
      }
      state.behind = state.behind.filter((sample) => !gtidPositionCovers(applied, sample.position));
      if (primary && (status.reached || gtidPositionCovers(applied, primary.position))) {
        state.coveredAt = Math.max(state.coveredAt ?? 0, primary.seenAt);
      } else if (primary && state.behind.at(-1)?.position !== primary.position) {
        state.behind.push(primary);
        if (state.behind.length > MAX_BEHIND_SAMPLES) state.behind.splice(1, 1);
      }
    }
    // At least this far behind: the oldest primary position seen that it still lacks (or SBM).
    const lowerMs = Math.max(state.behind[0] ? now - state.behind[0].seenAt : 0, (status?.secondsBehind ?? 0) * 1000);
    // At most this far behind: it has everything the primary had at `coveredAt`.
    const upperMs = status && state.coveredAt !== undefined ? now - state.coveredAt : Infinity;
    state.lagMs = lowerMs;
    const running = status?.running ?? false;
    if (!running || lowerMs > limit) {
      state.healthy = false;
      state.goodChecks = 0;
    } else if (state.healthy === undefined && upperMs <= limit) {
      state.healthy = true;
    } else if (state.healthy !== true) {
      // Rejoin only on proof: two checks in a row at most half the limit behind.
      state.healthy = false;
      state.goodChecks = upperMs <= limit / 2 ? state.goodChecks + 1 : 0;
      if (state.goodChecks >= 2) state.healthy = true;
    }
    this.metrics.replicaLag.set({ shard, node }, running ? lowerMs / 1000 : -1);
    this.metrics.replicaHealthy.set({ shard, node }, state.healthy ? 1 : 0);
  }

  /** At most one background GTID wait per replica; later writes extend its target. */
  private learn(replica: NodePool, position: string): void {
    if (this.hasApplied(replica, position)) return;
    const state = this.stateOf(replica);
    state.learnTarget = mergeGtidPositions(state.learnTarget, position);
    if (state.learning) return;
    state.learning = true;
    void this.runLearner(replica, state).finally(() => (state.learning = false));
  }

  private async runLearner(replica: NodePool, state: ReplicaState): Promise<void> {
    while (this.started && state.learnTarget && this.isUsable(replica)) {
      if (this.hasApplied(replica, state.learnTarget)) {
        state.learnTarget = undefined;
        break;
      }
      const pause = state.learnedAt + LEARN_SPACING_MS - Date.now();
      if (pause > 0) {
        await new Promise((resolve) => setTimeout(resolve, pause).unref());
        continue;
      }
      const target = state.learnTarget;
      state.learnedAt = Date.now();
      const applied = await replica
        .use('replica_track', async (conn) => {
          const [row] = await conn.rows<{ applied: number | null }>('SELECT MASTER_GTID_WAIT(?, ?) AS applied', [
            target,
            this.policy.gtidWaitTimeoutMs / 1000,
          ]);
          return row?.applied != null && Number(row.applied) === 0;
        })
        .catch(() => false);
      // Not applied in time: session reads of it go to the primary; the next write tries again.
      if (!applied) return;
      this.noteApplied(replica, target);
    }
  }
}

async function primaryPosition(primary: NodePool): Promise<string | undefined> {
  return primary.use('primary_position', async (conn) => {
    const [row] = await conn.rows<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos');
    return row?.pos || undefined;
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
