import { MxoError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';

export interface WriteBehindOptions {
  /** Flush period. */
  flushIntervalMs: number;
  /** Entries (positions + log rows) a shard's buffer holds before writers must wait. */
  maxQueue: number;
  /** Rows per multi-row statement. */
  maxBatch: number;
  /** How long a writer waits for room before {@link WriteBehindFullError}. */
  backpressureTimeoutMs: number;
}

export interface Position {
  x: number;
  y: number;
  z: number;
  rotation?: { x: number; y: number; z: number; w: number };
}

/** A log row: the table (one of the three log tables) and its column values. */
export interface LogRow {
  table: 'player_action_logs' | 'chat_logs' | 'system_logs';
  values: Record<string, unknown>;
}

/** The buffer stayed full past the back-pressure timeout (its shard is slow or down). */
export class WriteBehindFullError extends MxoError {
  constructor(readonly shard: string, readonly depth: number) {
    super('WRITE_BEHIND_FULL', `write-behind buffer of shard ${shard} is full (${depth} entries)`);
  }
}

const LOG_COLUMNS: Record<LogRow['table'], string[]> = {
  player_action_logs: ['character_id', 'action_type', 'action_details', 'district_id', 'target_character_id', 'item_id', 'action_result', 'error_message', 'action_timestamp'],
  chat_logs: ['character_id', 'channel_type', 'message_content', 'target_character_id', 'district_id', 'position_x', 'position_y', 'position_z', 'message_timestamp'],
  system_logs: ['log_level', 'log_category', 'log_message', 'log_data', 'character_id', 'district_id', 'session_id', 'created_at'],
};

/**
 * One shard's write-behind buffer for high-frequency writes. Positions are coalesced (the last
 * position per character wins); log rows are appended. Both are written in multi-row statements
 * on a short timer and on demand (`flush()`: logout, district change, shutdown). The queue is
 * bounded: when full, writers wait for a flush (back-pressure) rather than grow memory. A failed
 * flush keeps its entries for the next attempt (newer positions still win), so nothing is lost
 * while the process lives, and `close()` flushes before it returns.
 */
export class WriteBehindBuffer {
  private positions = new Map<number, Position>();
  private logs: LogRow[] = [];
  private flushing: Promise<void> | undefined;
  private readonly waiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly shard: string,
    private readonly primary: NodePool,
    private readonly metrics: Metrics,
    private readonly options: WriteBehindOptions,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), options.flushIntervalMs);
    this.timer.unref();
  }

  get depth(): number {
    return this.positions.size + this.logs.length;
  }

  async setPosition(characterId: number, position: Position): Promise<void> {
    if (!this.positions.has(characterId)) await this.room();
    this.positions.set(characterId, position);
    this.report();
  }

  async appendLog(row: LogRow): Promise<void> {
    await this.room();
    this.logs.push(row);
    this.report();
  }

  /** Writes everything buffered so far; concurrent callers share one flush. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.flushOnce().finally(() => {
        this.flushing = undefined;
        this.report();
        while (this.waiters.length > 0 && this.depth < this.options.maxQueue) this.waiters.shift()!();
      });
    }
    return this.flushing;
  }

  /** Stops the timer after a final flush (which throws if the shard cannot take the rows). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    while (this.depth > 0) await this.flush();
  }

  private async flushOnce(): Promise<void> {
    if (this.depth === 0) return;
    const positions = this.positions;
    const logs = this.logs;
    this.positions = new Map();
    this.logs = [];
    const started = performance.now();
    try {
      await this.primary.use('write_behind_flush', async (conn) => {
        await this.writePositions(conn, positions);
        await this.writeLogs(conn, logs);
      });
      this.metrics.writeBehindFlushDuration.observe({ shard: this.shard }, (performance.now() - started) / 1000);
    } catch (error) {
      // Put back what was not written; positions taken meanwhile are newer and win.
      for (const [id, p] of positions) if (!this.positions.has(id)) this.positions.set(id, p);
      this.logs = [...logs, ...this.logs];
      throw error;
    }
  }

  private async writePositions(conn: PooledConnection, positions: Map<number, Position>): Promise<void> {
    const entries = [...positions];
    for (let i = 0; i < entries.length; i += this.options.maxBatch) {
      const batch = entries.slice(i, i + this.options.maxBatch);
      const ids = batch.map(([id]) => id);
      const column = (name: string, pick: (p: Position) => number | undefined) => {
        const params: unknown[] = [];
        const cases = batch.map(([id, p]) => {
          params.push(id, pick(p) ?? null);
          return 'WHEN ? THEN COALESCE(?, ' + name + ')';
        });
        return { sql: `${name} = CASE character_id ${cases.join(' ')} ELSE ${name} END`, params };
      };
      const sets = [
        column('position_x', (p) => p.x),
        column('position_y', (p) => p.y),
        column('position_z', (p) => p.z),
        column('rotation_x', (p) => p.rotation?.x),
        column('rotation_y', (p) => p.rotation?.y),
        column('rotation_z', (p) => p.rotation?.z),
        column('rotation_w', (p) => p.rotation?.w),
      ];
      // One UPDATE per batch; a character that moved to another shard meanwhile matches no row.
      await conn.exec(
        `UPDATE characters SET ${sets.map((s) => s.sql).join(', ')} WHERE character_id IN (${ids.map(() => '?').join(',')})`,
        [...sets.flatMap((s) => s.params), ...ids],
      );
      this.metrics.writeBehindFlushedRows.inc({ shard: this.shard, kind: 'position' }, batch.length);
    }
  }

  private async writeLogs(conn: PooledConnection, logs: LogRow[]): Promise<void> {
    for (const table of Object.keys(LOG_COLUMNS) as Array<LogRow['table']>) {
      const rows = logs.filter((l) => l.table === table);
      const columns = LOG_COLUMNS[table];
      for (let i = 0; i < rows.length; i += this.options.maxBatch) {
        const batch = rows.slice(i, i + this.options.maxBatch);
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        await conn.exec(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`,
          batch.flatMap((row) => columns.map((c) => row.values[c] ?? null)),
        );
        this.metrics.writeBehindFlushedRows.inc({ shard: this.shard, kind: 'log' }, batch.length);
      }
    }
  }

  /** Waits until the buffer has room, flushing to make it; times out with a typed error. */
  private async room(): Promise<void> {
    if (this.closed) throw new MxoError('CLOSED', 'write-behind buffer is closed');
    if (this.depth < this.options.maxQueue) return;
    void this.flush().catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new WriteBehindFullError(this.shard, this.depth));
      }, this.options.backpressureTimeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  private report(): void {
    this.metrics.writeBehindQueueDepth.set({ shard: this.shard }, this.depth);
  }
}
