import type { Metrics } from '../metrics/metrics.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { batchesByBytes, valueBytes } from './byte-budget.js';
import { absentCharacters, isolate, LOG_COLUMNS, writeLogs, writePositions, type RowOutcome } from './row-writes.js';
import type { BufferedPosition, LogRow } from './types.js';

/**
 * One flush of a shard's positions and log rows on one connection, in multi-row statements with
 * row isolation (row-writes.ts). It settles rows as it goes: `positions` and `logs` keep only what
 * was not reached, and the outcome fields say what was deferred (still locked) or gone (the
 * character's row is not on this shard), so a flush that fails midway still tells the buffer what
 * to put back, and never writes a row twice.
 */
export class PositionLogFlush {
  /** Rows still locked after the short wait: buffered again for the next flush. */
  readonly deferredPositions = new Map<number, BufferedPosition>();
  readonly deferredLogs: LogRow[] = [];
  /** Positions whose character's row is not on this shard (it moved): re-routed after the flush. */
  readonly gone = new Map<number, BufferedPosition>();
  /** Why a row was deferred (the lock wait's error), for WriteBehindDeferredError's cause. */
  lockError: unknown;

  constructor(
    private readonly shard: string,
    readonly positions: Map<number, BufferedPosition>,
    readonly logs: LogRow[],
    private readonly deps: {
      metrics: Metrics;
      maxBatch: number;
      /** Estimated bytes per log batch (under the server's max_allowed_packet). */
      batchBytes: number;
      deadLetter(conn: PooledConnection, kind: string, row: Record<string, unknown>, error: unknown): Promise<void>;
    },
  ) {}

  async run(conn: PooledConnection): Promise<void> {
    await this.writePositions(conn);
    await this.writeLogs(conn);
  }

  private async writePositions(conn: PooledConnection): Promise<void> {
    const { positions, gone } = this;
    for (const batch of chunks([...positions], this.deps.maxBatch)) {
      const done: RowOutcome[] = [];
      try {
        await isolate(
          batch,
          async (rows) => {
            const matched = await writePositions(
              conn,
              rows.map(([id, e]) => [id, e.position]),
            );
            if (matched < rows.length) {
              const absent = new Set(
                await absentCharacters(
                  conn,
                  rows.map(([id]) => id),
                ),
              );
              for (const [id, e] of rows) if (absent.has(id)) gone.set(id, e);
            }
            this.deps.metrics.writeBehindFlushedRows.inc({ shard: this.shard, kind: 'position' }, matched);
          },
          (error) => (this.lockError = error),
          ([id], error) => this.deps.deadLetter(conn, 'position', { character_id: id }, error),
          done,
          this.shard,
        );
      } finally {
        // Settled rows leave even when the flush ends here (a row written is never written again).
        batch.forEach(([id, p], i) => {
          if (done[i] === undefined) return;
          positions.delete(id);
          if (done[i] === 'deferred') this.deferredPositions.set(id, p);
        });
      }
    }
  }

  private async writeLogs(conn: PooledConnection): Promise<void> {
    const { logs } = this;
    for (const table of Object.keys(LOG_COLUMNS) as Array<LogRow['table']>) {
      // Batches bounded in bytes as well as rows: under the server's max_allowed_packet.
      for (const batch of batchesByBytes(
        logs.filter((l) => l.table === table),
        this.deps.maxBatch,
        this.deps.batchBytes,
        (row) => valueBytes(Object.values(row.values)),
      )) {
        const done: RowOutcome[] = [];
        try {
          await isolate(
            batch,
            async (rows) => {
              await writeLogs(conn, table, rows);
              this.deps.metrics.writeBehindFlushedRows.inc({ shard: this.shard, kind: 'log' }, rows.length);
            },
            (error) => (this.lockError = error),
            (row, error) => this.deps.deadLetter(conn, 'log', { table, character_id: row.values.character_id ?? null }, error),
            done,
            this.shard,
          );
        } finally {
          const taken = new Set(batch.filter((_, i) => done[i] !== undefined));
          batch.forEach((row, i) => done[i] === 'deferred' && this.deferredLogs.push(row));
          if (taken.size > 0) logs.splice(0, logs.length, ...logs.filter((l) => !taken.has(l)));
        }
      }
    }
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
