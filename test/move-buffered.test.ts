import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// A move flushes the shard's write-behind buffer first. Another character's row held by an
// in-doubt XA branch must not fail the move, and the mover's own buffered position must arrive.
let t: TestCluster;
let accountId: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { writeBehind: { flushIntervalMs: 600_000 } } });
  accountId = (await t.db.accounts.register({ username: 'mover', email: 'mover@zion.example', password: 'mover-pass-1' })).accountId;
}, 120_000);
afterAll(async () => t?.stop());

async function positionX(node: string, characterId: number): Promise<number | undefined> {
  const [rows] = await (
    await t.sql(node)
  ).query<RowDataPacket[]>('SELECT position_x FROM characters WHERE character_id = ?', [characterId]);
  return rows[0]?.position_x as number | undefined;
}

async function flushFailures(shard: string): Promise<number> {
  const metric = await t.db.metrics.getSingleMetric('mxo_write_behind_flush_failures_total')?.get();
  return Number(metric?.values.find((v) => v.labels.shard === shard)?.value ?? 0);
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('moving while a neighbour is locked', () => {
  it('a row another branch holds stays buffered; the move succeeds and carries the mover’s position', async () => {
    const mover = (await t.db.characters.create({ accountId, name: 'Runner', archetype: 'spy', gender: 'male', districtId: 1 }))
      .characterId;
    const stuck = (await t.db.characters.create({ accountId, name: 'Stuck', archetype: 'spy', gender: 'male', districtId: 1 })).characterId;
    const holder = await t.sql('alpha-primary');
    await holder.query("XA START 'neighbour-lock'");
    await holder.query('UPDATE characters SET experience = experience + 1 WHERE character_id IN (?, ?)', [stuck, mover]);
    await holder.query("XA END 'neighbour-lock'");
    await holder.query("XA PREPARE 'neighbour-lock'");
    try {
      // Both positions buffered while both rows are held: the pre-move flush defers them.
      await t.db.world.updatePosition(mover, { x: 7, y: 0, z: 0 });
      await t.db.world.updatePosition(stuck, { x: 9, y: 0, z: 0 });
      const move = t.db.characters.moveToDistrict(mover, 4);
      // The move itself waits on the mover's row; let the branch go once the flush has given up
      // (counted as a failed flush of alpha).
      await until(async () => (await flushFailures('alpha')) > 0);
      await holder.query("XA ROLLBACK 'neighbour-lock'");
      await expect(move).resolves.toMatchObject({ shard: 'beta', movedShards: true });
    } finally {
      await holder.query("XA ROLLBACK 'neighbour-lock'").catch(() => {});
    }
    await t.db.world.flush();
    expect(await positionX('beta-primary', mover)).toBe(7);
    expect(await positionX('alpha-primary', mover)).toBeUndefined();
    expect(await positionX('alpha-primary', stuck)).toBe(9);
  });
});
