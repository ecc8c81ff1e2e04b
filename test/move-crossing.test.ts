/**
 * Two characters crossing between the same two shards in opposite directions at the same time
 * (hardline trips, district moves). Each move copies the character's rows from its source with
 * locking reads and inserts them on the destination. Under REPEATABLE READ those reads also
 * locked the gaps beside the character's rows, and with neighbouring ids each move's inserts
 * needed a gap the other held on the other server: a wait cycle across servers that InnoDB
 * cannot see, ended only by the lock-wait timeout (npm start with 200 players stalled both
 * shards for 3-5 s and failed calls with ACQUIRE_TIMEOUT). Moves across shards run at READ
 * COMMITTED (record locks only): every pair completes, and every row arrives once.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
beforeAll(async () => {
  // A short lock wait: a cycle shows up as a ConflictError within a second, not five.
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { pool: { lockWaitTimeoutSec: 1 } } });
});
afterAll(async () => t?.stop());

describe('characters crossing shards in opposite directions', () => {
  it('40 simultaneous opposite moves of neighbouring characters: no lock-wait cycle, every row once', async () => {
    const db = t.db;
    const { accountId } = await db.accounts.register({ username: 'crossers', password: 'crossing-paths-1' });
    const templateId = await db.items.defineTemplate({ itemName: 'Crossing token', itemType: 'consumable' });
    // Neighbouring ids (one after the other), each with rows in several moving tables.
    const a = (await db.characters.create({ accountId, name: 'Eastbound', districtId: 1 })).characterId; // alpha
    const b = (await db.characters.create({ accountId, name: 'Westbound', districtId: 4 })).characterId; // beta
    for (const c of [a, b]) for (let i = 0; i < 3; i++) await db.inventory.grant(c, { templateId });
    const districtOn = { alpha: 1, beta: 4 } as const;
    let [where, other] = ['alpha', 'beta'] as Array<'alpha' | 'beta'>;
    for (let round = 0; round < 40; round++) {
      // a goes where b is and b where a is, at once.
      const results = await Promise.allSettled([
        db.characters.moveToDistrict(a, districtOn[other!]),
        db.characters.moveToDistrict(b, districtOn[where!]),
      ]);
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(failed.map((f) => `round ${round}: ${String(f.reason)}`)).toEqual([]);
      [where, other] = [other, where];
    }
    // Every row once, on the shard the directory names.
    const g = await t.sql('global-primary');
    for (const c of [a, b]) {
      const [[dir]] = await g.query<RowDataPacket[]>('SELECT shard_name FROM character_directory WHERE character_id = ?', [c]);
      for (const shard of ['alpha', 'beta'] as const) {
        const conn = await t.sql(`${shard}-primary`);
        const [[chars]] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [c]);
        const [[items]] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM character_inventory WHERE character_id = ?', [c]);
        const here = dir!.shard_name === shard;
        expect([Number(chars!.n), Number(items!.n)], `character ${c} on ${shard}`).toEqual(here ? [1, 3] : [0, 0]);
        await conn.end();
      }
    }
    await g.end();
  }, 120_000);
});
