import { StaleRouteError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Router } from '../../routing/router.js';
import { GLOBAL } from '../../routing/topology.js';
import type { DistributedTx } from '../../twopc/coordinator.js';
import { WriteBehindDeferredError, type WriteBehindBuffer } from '../../writebehind/write-behind-buffer.js';
import { lockCharacter } from '../../routing/character-lock.js';
import { checkToken, requireToken } from './fenced-write.js';
import { checkDistrictFence } from '../../routing/district-fence.js';
import { deleteCharacterRows, insertCharacterRows, readCharacterRows } from '../../schema/character-rows.js';

/** Where a move left the character. */
export interface MoveResult {
  characterId: number;
  districtId: number;
  shard: string;
  movedShards: boolean;
}

/**
 * Work done in the move's own transaction, after the character's row is locked on its shard and
 * before its rows are copied (so what it writes there moves with the character): checks, a fare.
 * `target` is the branch of the destination shard (the same as `source` within one shard).
 */
export type BeforeMove = (ctx: {
  tx: DistributedTx;
  source: PooledConnection;
  target: PooledConnection;
  locked: { money: number | string; district_id: number };
  from: string;
}) => Promise<void>;

/**
 * Moves a character to a district (Characters.moveToDistrict and World.useHardline). Within its
 * shard this updates the row; to a district on another shard it moves every row the character
 * owns (same ids) and its directory entry in one two-phase commit. Event records stay.
 */
export async function moveCharacter(
  router: Router,
  writeBehind: (shard: string) => WriteBehindBuffer,
  cid: number,
  target: number,
  before?: BeforeMove,
  fencingToken?: number,
): Promise<MoveResult> {
  // A move is a character write like any other: fenced by the caller's claim (fenced-write.ts).
  requireToken(router, fencingToken);
  return router.withRoutes([cid], async ([route]) => {
    // Inside the retry: a district that moved meanwhile is re-resolved here (DistrictMovedError).
    const targetShard = router.topology.shardOfDistrict(target);
    const from = route!.shard;
    // Buffered writes must land before the rows are copied or the district changes. A row of
    // another character still locked (an in-doubt branch) stays buffered for the next flush and
    // must not fail this move; the mover's own position, if it stayed buffered, travels with it.
    await writeBehind(from)
      .flush()
      .catch((error: unknown) => {
        if (!(error instanceof WriteBehindDeferredError)) throw error;
      });
    const carried = writeBehind(from).takePositions([cid]);
    const participants = from === targetShard ? [from, GLOBAL] : [from, targetShard, GLOBAL];
    const operation = from === targetShard ? 'move_district' : 'move_shard';
    // Across shards at READ COMMITTED: the copy's locking reads on the source then take record
    // locks only. Under REPEATABLE READ they also locked the gaps beside the character's rows,
    // and two characters crossing between the same two shards in opposite directions each held
    // gaps the other's inserts needed on the other server: a wait cycle no server could see,
    // which held every connection of both shards until the lock-wait timeout (seen in npm start,
    // 200 players: stalls of 3-5 s and ACQUIRE_TIMEOUT). Nothing is lost by it: every writer of
    // a character's rows locks its characters row first, which this move holds.
    await router
      .onNodes(
        operation,
        participants,
        GLOBAL,
        async (tx) => {
          // Lock order: the character's shard row first, then global (the order trades and account
          // deletes use too).
          const source = await tx.branch(from);
          const locked = await lockCharacter(source, cid, from);
          // Under the row lock, before anything is written or copied: a taken-over claim moves nothing.
          if (fencingToken !== undefined) checkToken(cid, fencingToken, locked.presence_token);
          // The destination district's fence: an arrival waits out (or re-routes after) a district move.
          await checkDistrictFence(await tx.branch(targetShard), target, targetShard);
          if (before) await before({ tx, source, target: await tx.branch(targetShard), locked, from });
          if (from === targetShard) {
            await source.exec('UPDATE characters SET district_id = ? WHERE character_id = ?', [target, cid]);
          } else {
            const rows = await readCharacterRows(source, cid);
            const destination = await tx.branch(targetShard);
            await insertCharacterRows(destination, rows, { district_id: target });
            await deleteCharacterRows(source, cid);
          }
          const global = await tx.branch(GLOBAL);
          if (!(await router.directory.move(global, cid, from, { shard: targetShard, districtId: target })))
            throw new StaleRouteError(cid, from);
        },
        { readCommitted: from !== targetShard },
      )
      .catch(async (error: unknown) => {
        // Not moved: the carried position goes back where it was.
        writeBehind(from).carry(carried);
        throw error;
      });
    writeBehind(targetShard).carry(carried);
    router.directory.remember({ ...route!, shard: targetShard, districtId: target, routeVersion: route!.routeVersion + 1 });
    return { characterId: cid, districtId: target, shard: targetShard, movedShards: from !== targetShard };
  });
}
