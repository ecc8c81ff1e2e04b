import type { Metrics } from '../metrics/metrics.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { BATCH_MAX_BYTES, BATCH_MIN_BYTES } from './byte-budget.js';
import { CoalescedEntries, type CoalescedKind } from './coalesced.js';
import { KindRoom } from './kind-room.js';
import { PositionOrder } from './position-order.js';
import { logDeadLetter, PacketTooLargeError } from './row-writes.js';
import { onFlushConnection } from './flush-connection.js';
import { PositionLogFlush } from './position-log-flush.js';
import {
  WriteBehindDeferredError,
  type BufferedPosition,
  type LogRow,
  type Position,
  type PositionReroute,
  type WriteBehindOptions,
} from './types.js';

export type { CoalescedKind } from './coalesced.js';
export {
  WriteBehindDeferredError,
  WriteBehindFullError,
  type BufferedPosition,
  type LogRow,
  type Position,
  type PositionReroute,
  type WriteBehindOptions,
} from './types.js';
export { PositionOrder } from './position-order.js';

/**
 * One shard's write-behind buffer for high-frequency writes. Positions are coalesced (the last
 * position per character wins); log rows are appended. Both are written in multi-row statements
 * on a short timer and on demand (`flush()`: logout, district change, shutdown). The queue is
 * bounded: when full, writers wait for a flush (back-pressure) rather than grow memory.
 *
 * A flush never stalls on one row: a batch the shard refuses is retried row by row; a row refused
 * on its own (out of a column's range) is dropped as a dead letter (metric + a `system_logs`
 * line), a row still locked after a short wait stays buffered for the next flush. Rows written
 * are never written again; what a failed flush did not write stays buffered (newer positions
 * still win), and `close()` flushes before it returns.
 *
 * Positions keep the process's order ({@link PositionOrder}): one carried here from another
 * buffer, put back, or re-routed is kept only if nothing newer was sent for its character. A
 * position whose character's row is no longer on this shard at the flush (the character or its
 * district moved, seen by another process or through a stale route) is re-routed to the shard it
 * lives on now (`reroute`), instead of matching no row and being lost.
 */
export class WriteBehindBuffer {
  private positions = new Map<number, BufferedPosition>();
  private logs: LogRow[] = [];
  /** Other coalesced kinds (vitals, ability-use counters): see {@link coalesce}. */
  private readonly coalesced = new CoalescedEntries();
  private flushing: Promise<void> | undefined;
  private nextFlush: Promise<void> | undefined;
  /** Each kind's own room (maxQueue entries each): a flood of one kind never blocks another. */
  private readonly positionRoom: KindRoom;
  private readonly logRoom: KindRoom;
  private readonly coalescedRooms = new Map<string, KindRoom>();
  /** Estimated bytes per log batch; halved (down to a floor) after the shard answers 1153. */
  private batchBytes = BATCH_MAX_BYTES;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** While set, flushes wait for it (a district move's final step: see {@link pause}). */
  private gate: Promise<void> | undefined;
  /** The queue-depth gauge bound to this shard once: a labelled set() hashes its labels on every call. */
  private readonly depthGauge: { set(value: number): void };
  private readonly order: PositionOrder;
  private readonly reroute: PositionReroute | undefined;
  /** Positions carried here from other buffers so far (a flush of every shard repeats while this grows). */
  carriedIn = 0;

  private get primary(): NodePool {
    return typeof this.primaryOf === 'function' ? this.primaryOf() : this.primaryOf;
  }

  /**
   * @param positions The process's position order (shared by its buffers) and where positions
   *   whose row left this shard go; without `reroute` they are dropped, as before moves existed.
   */
  constructor(
    readonly shard: string,
    /** The shard's primary, or how to find it now (a failover replaces it). */
    private readonly primaryOf: NodePool | (() => NodePool),
    private readonly metrics: Metrics,
    private readonly options: WriteBehindOptions,
    positions: { order?: PositionOrder; reroute?: PositionReroute } = {},
  ) {
    this.order = positions.order ?? new PositionOrder();
    this.reroute = positions.reroute;
    this.depthGauge = metrics.writeBehindQueueDepth.labels({ shard });
    this.positionRoom = this.newRoom(() => this.positions.size);
    this.logRoom = this.newRoom(() => this.logs.length);
    this.timer = setInterval(() => void this.flush().catch(() => {}), options.flushIntervalMs);
    this.timer.unref();
  }

  get depth(): number {
    return this.positions.size + this.logs.length + this.coalesced.size;
  }

  /**
   * Buffers a position (the last one per character wins). The common case is a Map write and no
   * promise of its own: a character already buffered, or room in the buffer with nobody waiting.
   */
  setPosition(characterId: number, position: Position): Promise<void> {
    if (this.positions.has(characterId) || this.positionRoom.hasRoomNow()) {
      this.positions.set(characterId, { position, seq: this.order.stamp(characterId) });
      this.report();
      return DONE;
    }
    return this.positionRoom.take().then(() => {
      this.positionRoom.reserved--;
      // Stamped when buffered, not when sent: the order is the order in which the calls resolve.
      this.positions.set(characterId, { position, seq: this.order.stamp(characterId) });
      this.report();
    });
  }

  /**
   * Buffers positions taken from another buffer ({@link takePositions}) or re-routed: each only
   * if it is still its character's newest (no room is waited for: they were admitted before).
   */
  carry(taken: Map<number, BufferedPosition>): void {
    let kept = 0;
    for (const [id, entry] of taken) if (this.adopt(id, entry)) kept++;
    if (kept > 0) {
      this.carriedIn += kept;
      this.report();
    }
  }

  /**
   * Removes and returns the buffered (unfenced) positions of these characters: a district move
   * buffers them again on the shard the characters now live on.
   */
  takePositions(characterIds: Iterable<number>): Map<number, BufferedPosition> {
    const taken = new Map<number, BufferedPosition>();
    for (const id of characterIds) {
      const p = this.positions.get(id);
      if (p === undefined) continue;
      taken.set(id, p);
      this.positions.delete(id);
    }
    if (taken.size > 0) {
      this.report();
      this.wakeWaiters();
    }
    return taken;
  }

  /**
   * Holds back flushes until the returned function is called, after any flush already running
   * has finished: a district move's final step, so no buffered position is written to (and lost
   * on) a shard whose rows are leaving; the move then re-buffers them ({@link takePositions}).
   */
  async pause(): Promise<() => void> {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const previous = this.gate;
    const running = this.flushing;
    this.gate = previous ? previous.then(() => gate) : gate;
    await running?.catch(() => {});
    return () => {
      release();
      if (this.gate === gate) this.gate = undefined;
    };
  }

  async appendLog(row: LogRow): Promise<void> {
    await this.logRoom.take();
    this.logRoom.reserved--;
    this.logs.push(row);
    this.report();
  }

  /** Buffers `value` under `key` of `kind`, merged with what is buffered for that key (latest wins, or a count). */
  async coalesce<V>(kind: CoalescedKind<V>, key: string, value: V): Promise<void> {
    if (!this.coalesced.has(kind, key)) {
      const room = this.coalescedRoom(kind.name);
      await room.take();
      room.reserved--;
    }
    this.coalesced.add(kind, key, value);
    this.report();
  }

  /**
   * Writes everything buffered so far, including whatever this caller buffered before calling:
   * a flush already running took its rows before that, so this one waits for it and runs another.
   */
  flush(): Promise<void> {
    if (this.flushing) {
      this.nextFlush ??= this.flushing
        .catch(() => {})
        .then(() => {
          this.nextFlush = undefined;
          return this.flush();
        });
      return this.nextFlush;
    }
    this.flushing = this.flushAll().finally(() => {
      this.flushing = undefined;
      this.report();
      this.wakeWaiters();
    });
    return this.flushing;
  }

  /** Stops the timer after a final flush (which throws if the shard cannot take the rows). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    while (this.depth > 0) await this.flush();
  }

  /** Positions and logs, and the coalesced kinds on their own connection: one failing does not hold back the other. */
  private async flushAll(): Promise<void> {
    if (this.gate) await this.gate;
    const results = await Promise.allSettled([
      this.positions.size + this.logs.length > 0 ? this.flushOnce() : undefined,
      this.coalesced.flush(
        this.shard,
        this.primary,
        this.options.maxBatch,
        (kind, rows) => this.metrics.writeBehindFlushedRows.inc({ shard: this.shard, kind }, rows),
        (kind, key, conn, error) => this.deadLetter(conn, kind, { character_id: Number(key.split(':')[0]), key }, error),
      ),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async flushOnce(): Promise<void> {
    if (this.depth === 0) return;
    const flush = new PositionLogFlush(this.shard, this.positions, this.logs, {
      metrics: this.metrics,
      maxBatch: this.options.maxBatch,
      batchBytes: this.batchBytes,
      deadLetter: (conn, kind, row, error) => this.deadLetter(conn, kind, row, error),
    });
    this.positions = new Map();
    this.logs = [];
    const started = performance.now();
    try {
      await onFlushConnection(this.primary, async (conn) => {
        try {
          await flush.run(conn);
        } catch (error) {
          // 1153: the server dropped this connection; later flushes send smaller batches.
          if (error instanceof PacketTooLargeError) this.batchBytes = Math.max(BATCH_MIN_BYTES, Math.floor(this.batchBytes / 2));
          throw error;
        }
      });
      this.metrics.writeBehindFlushDuration.observe({ shard: this.shard }, (performance.now() - started) / 1000);
    } catch (error) {
      this.metrics.writeBehindFlushFailures.inc({ shard: this.shard });
      this.putBack(new Map([...flush.gone, ...flush.deferredPositions, ...flush.positions]), [...flush.deferredLogs, ...flush.logs]);
      throw error;
    }
    if (flush.gone.size > 0) await this.rerouteGone(flush.gone);
    const deferred = flush.deferredPositions.size + flush.deferredLogs.length;
    if (deferred > 0) {
      this.metrics.writeBehindFlushFailures.inc({ shard: this.shard });
      this.putBack(flush.deferredPositions, flush.deferredLogs);
      throw new WriteBehindDeferredError(this.shard, deferred, { cause: flush.lockError });
    }
  }

  /** Rows not written go back in front; positions buffered meanwhile are newer and win. */
  private putBack(positions: Map<number, BufferedPosition>, logs: LogRow[]): void {
    for (const [id, entry] of positions) this.adopt(id, entry);
    this.logs = [...logs, ...this.logs];
  }

  /**
   * Buffers `entry` unless something newer was sent for the character since: buffered here
   * meanwhile (a put-back), or anywhere else, even written already (a carry or a re-route).
   */
  private adopt(id: number, entry: BufferedPosition): boolean {
    if (!this.order.isLatest(id, entry.seq)) return false;
    this.positions.set(id, entry);
    return true;
  }

  /** Positions that matched no row: to the shard the character lives on now; what cannot be placed waits here. */
  private async rerouteGone(gone: Map<number, BufferedPosition>): Promise<void> {
    if (!this.reroute) return;
    let left: Map<number, BufferedPosition>;
    try {
      left = await this.reroute(this.shard, gone);
    } catch {
      left = gone;
    }
    this.putBack(left, []);
  }

  /**
   * Drops a row the shard refuses on its own: counted, and named in a system_logs line (on a
   * fresh connection when the flush's own is gone, as after a 1153).
   */
  private async deadLetter(conn: PooledConnection, kind: string, row: Record<string, unknown>, error: unknown): Promise<void> {
    this.metrics.writeBehindDeadLetters.inc({ shard: this.shard, kind });
    if (!conn.broken) return logDeadLetter(conn, this.shard, kind, row, error);
    await this.primary.use('write_behind_dead_letter', (fresh) => logDeadLetter(fresh, this.shard, kind, row, error)).catch(() => {});
  }

  /** A kind's room: maxQueue entries of its own. */
  private newRoom(depthOf: () => number): KindRoom {
    return new KindRoom(this.shard, this.options.maxQueue, depthOf, this.options.backpressureTimeoutMs, () => this.closed, () =>
      void this.flush().catch(() => {}),
    );
  }

  private coalescedRoom(name: string): KindRoom {
    let room = this.coalescedRooms.get(name);
    if (!room) this.coalescedRooms.set(name, (room = this.newRoom(() => this.coalesced.sizeOf(name))));
    return room;
  }

  /** Wakes, in every kind, only as many waiters as there are free slots. */
  private wakeWaiters(): void {
    const rooms = [this.positionRoom, this.logRoom, ...this.coalescedRooms.values()];
    let woke = false;
    for (const room of rooms) woke = room.wake() || woke;
    // The woken fill the room again; flush once more for those still waiting (only after progress,
    // so a shard that is down is not retried in a tight loop).
    if (woke && rooms.some((r) => r.waiting > 0)) setImmediate(() => void this.flush().catch(() => {}));
  }

  private report(): void {
    this.depthGauge.set(this.depth);
  }
}

const DONE: Promise<void> = Promise.resolve();
