import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { isolate, type RowOutcome } from './row-writes.js';
import { onFlushConnection } from './flush-connection.js';
import { WriteBehindDeferredError } from './types.js';

/**
 * A coalesced kind of write-behind entry besides positions and logs: one entry per key, merged as
 * it arrives (the latest value wins, or a running count), written in batches by `write`. Vitals
 * and ability-use counters are kinds (src/systems/characters/vitals-writes.ts, src/systems/abilities/ability-uses.ts).
 */
export interface CoalescedKind<V> {
  /** Unique per buffer; also the `kind` label of the flushed-rows metric. */
  readonly name: string;
  /** Combines an older and a newer entry of one key. */
  merge(older: V, newer: V): V;
  /** Writes one batch in one statement; rows of characters no longer on this shard must match nothing. */
  write(conn: PooledConnection, batch: Array<[string, V]>): Promise<void>;
}

/** Entries taken out of the buffer by a flush: what is left of each kind to write. */
type Pending = Array<{ kind: CoalescedKind<unknown>; rest: Array<[string, unknown]>; deferred: Array<[string, unknown]> }>;

/** The coalesced entries of one shard's buffer, by kind. */
export class CoalescedEntries {
  private readonly slots = new Map<string, { kind: CoalescedKind<unknown>; entries: Map<string, unknown> }>();

  get size(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.entries.size;
    return n;
  }

  has<V>(kind: CoalescedKind<V>, key: string): boolean {
    return this.entriesOf(kind).has(key);
  }

  /** Buffers `value` under `key`, merged with what is already there. */
  add<V>(kind: CoalescedKind<V>, key: string, value: V): void {
    const entries = this.entriesOf(kind);
    const older = entries.get(key) as V | undefined;
    entries.set(key, older === undefined ? value : kind.merge(older, value));
  }

  /**
   * Writes every entry on `primary`, batch by batch, with the same row isolation as positions and
   * logs (row-writes.ts): a batch the shard refuses is written row by row, a row refused on its own
   * is a dead letter (`onDead`), a row still locked stays buffered (then
   * {@link WriteBehindDeferredError}). Entries not written when the flush fails go back, merged
   * under anything buffered since (so we never apply a counter twice).
   */
  async flush(
    shard: string,
    primary: NodePool,
    maxBatch: number,
    onWritten: (kind: string, rows: number) => void,
    onDead: (kind: string, key: string, conn: PooledConnection, error: unknown) => Promise<void>,
  ): Promise<void> {
    const pending: Pending = [];
    for (const slot of this.slots.values()) {
      if (slot.entries.size === 0) continue;
      pending.push({ kind: slot.kind, rest: [...slot.entries], deferred: [] });
      slot.entries = new Map();
    }
    if (pending.length === 0) return;
    let lockError: unknown;
    try {
      await onFlushConnection(primary, async (conn) => {
        for (const p of pending) {
          while (p.rest.length > 0) {
            const batch = p.rest.slice(0, maxBatch);
            const done: RowOutcome[] = [];
            try {
              await isolate(
                batch,
                (rows) => p.kind.write(conn, rows),
                (error) => (lockError = error),
                ([key], error) => onDead(p.kind.name, key, conn, error),
                done,
                shard,
              );
            } finally {
              // Settled rows leave; the rest (a flush that failed midway) stays to go back.
              p.deferred.push(...batch.filter((_, i) => done[i] === 'deferred'));
              p.rest = [...batch.filter((_, i) => done[i] === undefined), ...p.rest.slice(batch.length)];
              const written = done.filter((o) => o === 'written').length;
              if (written > 0) onWritten(p.kind.name, written);
            }
          }
        }
      });
    } catch (error) {
      this.putBack(pending, (p) => [...p.deferred, ...p.rest]);
      throw error;
    }
    const deferred = pending.reduce((n, p) => n + p.deferred.length, 0);
    if (deferred > 0) {
      this.putBack(pending, (p) => p.deferred);
      throw new WriteBehindDeferredError(shard, deferred, { cause: lockError });
    }
  }

  /** Entries of a failed flush go back, merged under anything buffered since (newer wins, counts add). */
  private putBack(pending: Pending, rows: (p: Pending[number]) => Array<[string, unknown]>): void {
    for (const p of pending) {
      const entries = this.entriesOf(p.kind);
      for (const [key, older] of rows(p)) entries.set(key, entries.has(key) ? p.kind.merge(older, entries.get(key)) : older);
    }
  }

  /** Entries of one kind buffered now. */
  sizeOf(name: string): number {
    return this.slots.get(name)?.entries.size ?? 0;
  }

  private entriesOf<V>(kind: CoalescedKind<V>): Map<string, unknown> {
    let slot = this.slots.get(kind.name);
    if (!slot) this.slots.set(kind.name, (slot = { kind: kind as CoalescedKind<unknown>, entries: new Map() }));
    return slot.entries;
  }
}
