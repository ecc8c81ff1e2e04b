/**
 * db.admin.addShard: a third server joins a two-shard cluster as an empty, migrated shard with
 * the reference data; a district moved onto it keeps every row, and a process that has the new
 * shard in its config (with no districts) routes there after the move, and so does one whose
 * config only approves its address (it learns the shard from global).
 */
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, startSandbox, type Cluster, type Sandbox } from '../src/index.js';
import type { ClusterConfigInput } from '../src/config/schema.js';

let sandbox: Sandbox;
let db: Cluster;
let config: ClusterConfigInput;
const conns: mysql.Connection[] = [];

async function count(node: string, sql: string, params: unknown[] = []): Promise<number> {
  const n = sandbox.node(node);
  const conn = await mysql.createConnection({
    host: n.host,
    port: n.port,
    user: 'root',
    database: node.startsWith('global') ? 'mxo_global' : 'mxo_shard',
  });
  conns.push(conn);
  return Number((await conn.query<RowDataPacket[]>(sql, params))[0][0]!.n);
}

beforeAll(async () => {
  sandbox = await startSandbox({ shards: 3, replicasPerShard: 0 });
  const shards = sandbox.config.shards.filter((s) => s.name !== 'gamma');
  config = { ...sandbox.config, shards, recovery: { intervalMs: 0, gracePeriodMs: 2_000 }, maintenance: { intervalMs: 0 } };
  db = await openCluster(config);
  await db.migrate();
}, 120_000);
afterAll(async () => {
  await Promise.all(conns.map((c) => c.end().catch(() => c.destroy())));
  await db?.close();
  await sandbox?.stop();
});

describe('addShard', () => {
  it('migrates the new shard, copies the reference data and records it on global; a district moves onto it', async () => {
    const template = await db.items.defineTemplate({ itemName: 'Badge', itemType: 'clothing', baseValue: 5 });
    const { accountId } = await db.accounts.register({ username: 'gamma', email: 'gamma@zion.example', password: 'woman-in-red' });
    const { characterId } = await db.characters.create({ accountId, name: 'Tank', archetype: 'hacker', gender: 'male', districtId: 2 });
    await db.characters.adjustMoney(characterId, 500, 'admin_grant');
    const { vendorId } = await db.vendors.define({
      vendorName: 'Badges',
      districtId: 2,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'general',
      stock: [{ templateId: template, maxStock: 9, basePrice: 5 }],
    });
    const gamma = sandbox.config.shards.find((s) => s.name === 'gamma')!.primary;
    const added = await db.admin.addShard({ name: 'gamma', primary: gamma as string });
    expect(added.migrations.length).toBeGreaterThan(0);
    expect(added.referenceRows.item_templates).toBe(await count('global-primary', 'SELECT COUNT(*) AS n FROM item_templates'));
    expect(await count('gamma-primary', 'SELECT COUNT(*) AS n FROM item_templates WHERE template_id = ?', [template])).toBe(1);
    expect(await count('gamma-primary', 'SELECT COUNT(*) AS n FROM districts WHERE district_id = 2')).toBe(1);
    expect(await count('gamma-primary', 'SELECT COUNT(*) AS n FROM characters')).toBe(0);
    expect(await count('global-primary', "SELECT COUNT(*) AS n FROM cluster_shards WHERE shard_name = 'gamma'")).toBe(1);
    await expect(db.admin.addShard({ name: 'gamma', primary: gamma as string })).rejects.toMatchObject({ code: 'NAME_TAKEN' });

    // A second process that knows gamma from its config (no districts there yet), opened before the move.
    const later = await openCluster({ ...config, shards: [...config.shards!, { name: 'gamma', primary: gamma, districts: [] }] });
    // And one whose config only approves gamma's address: it learns the shard from global (with
    // global's credentials). Without the approval it would refuse it (test/shard-approval.test.ts).
    const url = new URL(gamma as string);
    const unaware = await openCluster({
      ...config,
      approvedShards: [{ name: 'gamma', host: url.hostname, port: Number(url.port), database: url.pathname.slice(1) }],
    });
    try {
      expect(later.shardOfDistrict(2)).toBe('alpha');
      const r = await db.admin.moveDistrict(2, 'gamma');
      expect(r).toMatchObject({ from: 'alpha', to: 'gamma', characters: 1 });
      expect(await count('gamma-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [characterId])).toBe(1);
      expect(await count('alpha-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [characterId])).toBe(0);
      const bought = await later.vendors.buy({ characterId, vendorId, templateId: template });
      expect(await count('gamma-primary', 'SELECT COUNT(*) AS n FROM character_inventory WHERE item_id = ?', [bought.itemIds[0]])).toBe(1);
      await later.world.spawnObject({ districtId: 2, objectType: 'npc', objectName: 'Agent', position: { x: 0, y: 0, z: 0 } });
      expect(later.shardOfDistrict(2)).toBe('gamma');
      expect(await count('gamma-primary', 'SELECT COUNT(*) AS n FROM world_objects WHERE district_id = 2')).toBe(1);
      expect(unaware.shardOfDistrict(2)).toBe('alpha');
      await unaware.world.spawnObject({ districtId: 2, objectType: 'npc', objectName: 'Smith', position: { x: 1, y: 0, z: 0 } });
      expect(unaware.shardOfDistrict(2)).toBe('gamma');
      expect(await count('gamma-primary', 'SELECT COUNT(*) AS n FROM world_objects WHERE district_id = 2')).toBe(2);
      await unaware.world.updatePosition(characterId, { x: 7, y: 8, z: 9 });
      await unaware.world.flush();
      expect(
        await count('gamma-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ? AND position_x = 7', [characterId]),
      ).toBe(1);
    } finally {
      await later.close();
      await unaware.close();
    }
    expect((await db.verify()).violations).toEqual([]);
  }, 120_000);
});
