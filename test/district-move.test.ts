/**
 * Live district moves (db.admin.moveDistrict): every row of the district's characters and its
 * world content go to the target shard in one fenced two-phase commit, nothing is left on the
 * source, money and items are conserved, no acknowledged write is lost while a workload runs in
 * this process and in a second one with a stale placement, and the fence holds writes briefly.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let other: Cluster; // a second process's cluster object: its placement goes stale
let accountId: number;
let template: number;
let vendorId: number;
const inTwo: number[] = []; // characters in district 2
let neighbour: number; // district 1 (alpha)
let far: number; // district 4 (beta)

const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];
const count = async (node: string, sql: string, params: unknown[] = []) => Number((await rows(node, sql, params))[0]!.n);

/** Every row the district owns on a shard: characters (with their rows) and world content. */
async function districtRows(node: string, district: number): Promise<Record<string, number>> {
  const ids = '(SELECT character_id FROM characters WHERE district_id = ?)';
  return {
    characters: await count(node, 'SELECT COUNT(*) AS n FROM characters WHERE district_id = ?', [district]),
    inventory: await count(node, `SELECT COUNT(*) AS n FROM character_inventory WHERE character_id IN ${ids}`, [district]),
    statistics: await count(node, `SELECT COUNT(*) AS n FROM character_statistics WHERE character_id IN ${ids}`, [district]),
    vendors: await count(node, 'SELECT COUNT(*) AS n FROM vendors WHERE district_id = ?', [district]),
    stock: await count(
      node,
      'SELECT COUNT(*) AS n FROM vendor_inventory WHERE vendor_id IN (SELECT vendor_id FROM vendors WHERE district_id = ?)',
      [district],
    ),
    objects: await count(node, 'SELECT COUNT(*) AS n FROM world_objects WHERE district_id = ?', [district]),
    hardlines: await count(node, 'SELECT COUNT(*) AS n FROM hardlines WHERE district_id = ?', [district]),
  };
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  ({ accountId } = await t.db.accounts.register({ username: 'dmove', email: 'dmove@zion.example', password: 'woman-in-red' }));
  template = await t.db.items.defineTemplate({ itemName: 'Shades', itemType: 'clothing', baseValue: 10 });
  for (let i = 0; i < 12; i++) {
    const c = await t.db.characters.create({ accountId, name: `Two${i}`, archetype: 'hacker', gender: 'male', districtId: 2 });
    await t.db.characters.adjustMoney(c.characterId, 100_000, 'admin_grant');
    inTwo.push(c.characterId);
  }
  neighbour = (await t.db.characters.create({ accountId, name: 'One', archetype: 'spy', gender: 'female', districtId: 1 })).characterId;
  far = (await t.db.characters.create({ accountId, name: 'Four', archetype: 'spy', gender: 'female', districtId: 4 })).characterId;
  for (const c of [neighbour, far]) await t.db.characters.adjustMoney(c, 100_000, 'admin_grant');
  ({ vendorId } = await t.db.vendors.define({
    vendorName: 'Tailor',
    districtId: 2,
    position: { x: 1, y: 0, z: 1 },
    vendorType: 'general',
    stock: [{ templateId: template, maxStock: 100_000, basePrice: 10 }],
  }));
  await t.db.world.spawnObject({ districtId: 2, objectType: 'terminal', objectName: 'Jack-in', position: { x: 1, y: 0, z: 2 } });
  other = await openCluster(t.config);
});
afterAll(async () => {
  await other?.close();
  await t?.stop();
});

describe('district placement', () => {
  it('lives on global, seeded from the config, with a fence row per district on its shard', async () => {
    expect(await rows('global-primary', 'SELECT district_id, shard_name FROM district_placement ORDER BY district_id')).toEqual(
      expect.arrayContaining([expect.objectContaining({ district_id: 2, shard_name: 'alpha' })]),
    );
    expect(await rows('alpha-primary', 'SELECT state FROM district_fences WHERE district_id = 2')).toEqual([{ state: 'owned' }]);
    expect(t.db.shardOfDistrict(2)).toBe('alpha');
  });
});

describe('moveDistrict', () => {
  it('moves every row of the district to beta and leaves none on alpha', async () => {
    const before = await districtRows('alpha-primary', 2);
    expect(before.characters).toBe(12);
    const result = await t.db.admin.moveDistrict(2, 'beta');
    console.log(`district 2 alpha -> beta: ${result.characters} characters, ${result.rows} rows, fence ${result.fenceMs} ms`);
    expect(result).toMatchObject({ from: 'alpha', to: 'beta', moved: true, characters: 12 });
    expect(await districtRows('beta-primary', 2)).toEqual(before);
    expect(Object.values(await districtRows('alpha-primary', 2)).every((n) => n === 0)).toBe(true);
    expect(t.db.shardOfDistrict(2)).toBe('beta');
    expect(await rows('global-primary', 'SELECT shard_name, version FROM district_placement WHERE district_id = 2')).toEqual([
      { shard_name: 'beta', version: 2 },
    ]);
    expect(
      await count('global-primary', "SELECT COUNT(*) AS n FROM character_directory WHERE district_id = 2 AND shard_name = 'beta'"),
    ).toBe(12);
    expect((await t.db.admin.moves())[0]).toMatchObject({ districtId: 2, state: 'done' });
    expect((await t.db.verify()).violations).toEqual([]);
  });

  it('a second process with the old placement re-routes its district writes and its characters', async () => {
    expect(other.shardOfDistrict(2)).toBe('alpha'); // stale: it has not looked since open
    const { objectId } = await other.world.spawnObject({
      districtId: 2,
      objectType: 'decoration',
      objectName: 'Back door',
      position: { x: 0, y: 0, z: 0 },
    });
    expect(await count('beta-primary', 'SELECT COUNT(*) AS n FROM world_objects WHERE object_id = ?', [objectId])).toBe(1);
    expect(other.shardOfDistrict(2)).toBe('beta');
    await other.vendors.buy({ characterId: inTwo[0]!, vendorId, templateId: template });
    const c = await other.characters.create({ accountId, name: 'Late', archetype: 'hacker', gender: 'male', districtId: 2 });
    expect(await count('beta-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [c.characterId])).toBe(1);
    inTwo.push(c.characterId);
  });

  it('moving to the shard that owns it does nothing; an unknown shard is refused', async () => {
    expect(await t.db.admin.moveDistrict(2, 'beta')).toMatchObject({ moved: false });
    await expect(t.db.admin.moveDistrict(2, 'gamma')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
