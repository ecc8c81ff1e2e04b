import { StaleRouteError } from '../errors.js';
import { inList } from '../pool/in-list.js';
import type { DistributedTx } from '../twopc/coordinator.js';
import type { CharacterRoute } from './directory.js';
import { checkToken } from './fencing-token.js';
import { inLockOrder } from './lock-order.js';

/** A character's row as the router locked it (`SELECT ... FOR UPDATE`). */
export interface LockedRow {
  money: number | string;
  district_id: number;
  presence_token: number | string | null;
}

/** The row locks of an {@link Router.onCharacters} call. */
export interface LockedRows {
  /** The row of `characterId`, once locked (rejects with the lock's error). */
  of(characterId: number): Promise<LockedRow>;
  /** How the work locks further rows in this attempt: `FOR UPDATE`, or `FOR UPDATE NOWAIT` when `tx.nowait`. */
  readonly forUpdate: LockClause;
}

/** The locking clause of a `SELECT` in a write: NOWAIT in an attempt that must not wait (`tx.nowait`). */
export type LockClause = 'FOR UPDATE' | 'FOR UPDATE NOWAIT';

/**
 * Locks the characters' rows one shard after the other in the global lock order (the rows of one
 * shard in one statement: InnoDB locks an IN list on the primary key in key order, the same order
 * as one at a time), and checks `fence` on the actor's row. Each shard's lock starts when the
 * previous one is held; with `tx.nowait` every shard's lock starts at once, with NOWAIT (a held
 * row fails the attempt instead of waiting, see Coordinator.run).
 */
export function lockRows(
  tx: DistributedTx,
  routes: CharacterRoute[],
  fence: { characterId: number; token: number } | undefined,
): LockedRows & { all: Promise<void> } {
  const byShard = new Map<string, CharacterRoute[]>();
  for (const route of inLockOrder(routes)) {
    const list = byShard.get(route.shard) ?? [];
    if (!list.some((r) => r.characterId === route.characterId)) list.push(route);
    byShard.set(route.shard, list);
  }
  const rows = new Map<number, Promise<LockedRow>>();
  const forUpdate: LockClause = tx.nowait ? 'FOR UPDATE NOWAIT' : 'FOR UPDATE';
  const start = Promise.resolve();
  const all: Array<Promise<unknown>> = [];
  let previous: Promise<unknown> = start;
  for (const [shard, list] of byShard) {
    const locked = (tx.nowait ? start : previous).then(async () => {
      const conn = await tx.branch(shard);
      const ids = list.map((r) => r.characterId);
      const padded = inList(ids);
      const found = await conn.rows<LockedRow & { character_id: number }>(
        `SELECT character_id, money, district_id, presence_token FROM characters
          WHERE character_id IN ${padded.sql} ORDER BY character_id ${forUpdate}`,
        padded.params,
      );
      const byId = new Map(found.map((r) => [Number(r.character_id), r]));
      for (const id of ids) if (!byId.has(id)) throw new StaleRouteError(id, shard);
      const actor = fence && byId.get(fence.characterId);
      if (actor) checkToken(fence.characterId, fence.token, actor.presence_token);
      return byId;
    });
    locked.catch(() => {}); // observed through `all` and `of`; never an unhandled rejection
    for (const id of list.map((r) => r.characterId)) {
      const row = locked.then((byId) => byId.get(id)!);
      row.catch(() => {});
      rows.set(id, row);
    }
    previous = locked;
    all.push(locked);
  }
  // Every shard settled before a failure is reported: no lock statement is still in flight when
  // the coordinator rolls the branches back.
  const settled = Promise.allSettled(all).then((results) => {
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  settled.catch(() => {}); // a pipelined work may fail first and never await it
  return {
    all: settled,
    forUpdate,
    of: (characterId) => rows.get(characterId) ?? Promise.reject(new Error(`character ${characterId} is not part of this write`)),
  };
}
