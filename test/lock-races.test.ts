/**
 * Races that only a row lock guards, raced deterministically (issue 26): the vendor's last unit
 * with two buyers at once (the stock line held by hand until both have read past their own
 * character's lock), and a district write arriving while a mover holds the district's fence
 * (the mover stopped by a barrier after its prepare: the write waits on the fence's share lock,
 * then re-routes to the shard the district moved to).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;
/** Set by a test to stop the next district move after its prepare, until released. */
let moveBarrier: { reached: () => void; release: Promise<void> } | undefined;

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    // The district move is an operator's (mxo_migrate): mxo_app cannot write the placement.
    as: 'operator',
    // A waiter must outlast the test's hand-held lock on a busy machine.
    config: { pool: { lockWaitTimeoutSec: 60 }, twoPhase: { statementTimeoutMs: 90_000 } },
    open: {
      hooks: {
        onPhase: async (phase, info) => {
          if (phase !== 'prepared' || info.operation !== 'district_move' || !moveBarrier) return;
          const barrier = moveBarrier;
          moveBarrier = undefined;
          barrier.reached();
          await barrier.release;
        },
      },
    },
  });
  ({ accountId } = await t.db.accounts.register({ username: 'racer', email: 'racer@zion.example', password: 'racer-pass-12' }));
}, 120_000);
afterAll(async () => t?.stop());

const rows = async (conn: Connection, sql: string, params: unknown[] = []) => (await conn.query<RowDataPacket[]>(sql, params))[0];

/** Waits until `n` sessions of the library (mxo_app, or the operator mxo_migrate) on `node` have been in one statement for a second or more (waiting on a lock). */
async function stuck(node: string, n: number, like = '%', give = () => false): Promise<boolean> {
  const probe = await t.sql(node);
  for (let i = 0; i < 600; i++) {
    const [w] = await rows(
      probe,
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER IN ('mxo_app', 'mxo_migrate') AND INFO LIKE ? AND TIME >= 1",
      [like],
    );
    if (Number(w!.n) >= n) return true;
    if (give()) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe("the vendor's last unit", () => {
  it('two buyers at once, one unit: exactly one gets it, the other is told it is out of stock', async () => {
    const template = await t.db.items.defineTemplate({ itemName: 'Last coat', itemType: 'clothing', baseValue: 10 });
    const { vendorId } = await t.db.vendors.define({
      vendorName: 'Merv',
      districtId: 1,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'general',
      stock: [{ templateId: template, maxStock: 5, basePrice: 10 }],
    });
    const buyers: number[] = [];
    for (const name of ['Buyer1', 'Buyer2']) {
      const { characterId } = await t.db.characters.create({ accountId, name, archetype: 'hacker', gender: 'male', districtId: 1 });
      await t.db.characters.adjustMoney(characterId, 1_000, 'admin_grant');
      buyers.push(characterId);
    }
    const holder = await t.sql('alpha-primary');
    await holder.query('UPDATE vendor_inventory SET current_stock = 1 WHERE vendor_id = ? AND template_id = ?', [vendorId, template]);
    await holder.query('BEGIN');
    await rows(holder, 'SELECT current_stock FROM vendor_inventory WHERE vendor_id = ? AND template_id = ? FOR UPDATE', [
      vendorId,
      template,
    ]);
    let buys: Array<Promise<string>> = [];
    try {
      buys = buyers.map((characterId) => outcome(t.db.vendors.buy({ characterId, vendorId, templateId: template })));
      expect(await stuck('alpha-primary', 2)).toBe(true);
    } finally {
      await holder.query('COMMIT');
    }
    expect((await Promise.all(buys)).sort()).toEqual(['OUT_OF_STOCK', 'ok']);
    const [line] = await rows(holder, 'SELECT current_stock FROM vendor_inventory WHERE vendor_id = ? AND template_id = ?', [
      vendorId,
      template,
    ]);
    expect(Number(line!.current_stock)).toBe(0);
    const [items] = await rows(holder, 'SELECT COUNT(*) AS n FROM character_inventory WHERE template_id = ?', [template]);
    expect(Number(items!.n)).toBe(1);
  });

  it('the stock column refuses to go below zero (a CHECK behind the lock)', async () => {
    const conn = await t.sql('alpha-primary');
    await expect(conn.query('UPDATE vendor_inventory SET current_stock = -1 LIMIT 1')).rejects.toMatchObject({ errno: 4025 });
  });
});

describe("the district fence's share lock", () => {
  it('a district write arriving while a mover holds the fence waits, then runs on the shard the district moved to', async () => {
    expect(t.db.shardOfDistrict(2)).toBe('alpha');
    let reached!: () => void;
    const atBarrier = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    moveBarrier = { reached, release: new Promise<void>((r) => (release = r)) };
    const move = t.db.admin.moveDistrict(2, 'beta');
    let write: Promise<{ objectId: number }> | undefined;
    let settled = false;
    try {
      await atBarrier; // the source branch is prepared: it holds the fence row exclusively
      write = t.db.world.spawnObject({ districtId: 2, objectType: 'terminal', objectName: 'Late door', position: { x: 1, y: 2, z: 3 } });
      write.then(
        () => (settled = true),
        () => (settled = true),
      );
      // The write is seen waiting on the fence, and has not finished, while the mover holds it.
      expect(await stuck('alpha-primary', 1, '%district_fences%LOCK IN SHARE MODE%', () => settled)).toBe(true);
      expect(settled).toBe(false);
    } finally {
      release();
    }
    await expect(move).resolves.toMatchObject({ from: 'alpha', to: 'beta', moved: true });
    const { objectId } = await write!;
    const where = async (node: string) =>
      Number((await rows(await t.sql(node), 'SELECT COUNT(*) AS n FROM world_objects WHERE object_id = ?', [objectId]))[0]!.n);
    expect(await where('beta-primary')).toBe(1);
    expect(await where('alpha-primary')).toBe(0);
    expect((await t.db.verify()).violations).toEqual([]);
  });
});
