import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  NameTakenError,
  openCluster,
  resolveClusterConfig,
  UnknownDistrictError,
  ValidationError,
  type Cluster,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Districts as the client numbers them: 0 is the tutorial, 0x385 (901) the loading area.
const LOADING = 0x385;
let t: TestCluster;
let db: Cluster; // the same cluster, configured with districts 0 and 0x385 on alpha

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const shards = (t.rootConfig.shards as Array<{ districts: number[] }>).map((s, i) =>
    i === 0 ? { ...s, districts: [0, ...s.districts, LOADING] } : s,
  );
  db = await openCluster({ ...t.rootConfig, shards } as never);
  await db.migrate(); // seeds the placeholder rows of the new districts
}, 120_000);
afterAll(async () => {
  await db?.close();
  await t?.stop();
});

describe('districts 0 and 0x385', () => {
  it('the config accepts them (and still refuses negatives)', () => {
    const base = { global: { primary: 'mysql://mxo@127.0.0.1:3306/mxo_global' } };
    const config = resolveClusterConfig({
      ...base,
      shards: [{ name: 'alpha', primary: 'mysql://mxo@127.0.0.1:3307/mxo_shard', districts: [0, 1, LOADING] }],
    });
    expect(config.shards[0]!.districts).toEqual([0, 1, LOADING]);
    expect(() =>
      resolveClusterConfig({ ...base, shards: [{ name: 'alpha', primary: 'mysql://mxo@127.0.0.1:3307/mxo_shard', districts: [-1] }] }),
    ).toThrow(ConfigError);
  });

  it('are real rows with their own ids on every node, not AUTO_INCREMENT values', async () => {
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      const [rows] = await (
        await t.sql(node)
      ).query<RowDataPacket[]>('SELECT district_id, district_name FROM districts WHERE district_id IN (0, ?) ORDER BY district_id', [
        LOADING,
      ]);
      expect(
        rows.map((r) => [r.district_id, r.district_name]),
        node,
      ).toEqual([
        [0, 'District 0'],
        [LOADING, `District ${LOADING}`],
      ]);
    }
  });

  it('characters start in the tutorial, move to the loading area, and are claimed there', async () => {
    const { accountId } = await db.accounts.register({ username: 'newbie', email: 'newbie@zion.example', password: 'red-pill-123' });
    const rookie = await db.characters.create({ accountId, name: 'Rookie', archetype: 'spy', gender: 'female', districtId: 0 });
    expect(rookie).toMatchObject({ districtId: 0, shard: 'alpha' });
    expect(await db.characters.moveToDistrict(rookie.characterId, LOADING)).toMatchObject({ districtId: LOADING, movedShards: false });
    const claim = await db.presence.claim(rookie.characterId, { serverId: 'loader', districtId: LOADING });
    expect((await db.presence.whereIs([rookie.characterId]))[0]).toMatchObject({ districtId: LOADING });
    await db.presence.release(rookie.characterId, claim.fencingToken);
    await expect(
      db.characters.create({ accountId, name: 'Minus', archetype: 'spy', gender: 'female', districtId: -1 }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('carry their key and world file, everywhere at once', async () => {
    await db.worlds.setDistrictFile(0, { districtKey: 'tutorial', worldFile: 'resource/worlds/final_world/tutorial/tutorial.mxo' });
    await db.worlds.setDistrictFile(LOADING, { districtKey: 'loading', worldFile: 'resource/worlds/loading.mxo' });
    await db.worlds.setDistrictFile(1, { districtKey: 'slums', worldFile: 'resource/worlds/final_world/slums_barrens_full.mxo' });
    const files = await db.worlds.districtFiles();
    expect(files.filter((f) => f.districtKey !== null).map((f) => [f.districtId, f.districtKey])).toEqual([
      [0, 'tutorial'],
      [1, 'slums'],
      [LOADING, 'loading'],
    ]);
    const [rows] = await (await t.sql('beta-primary')).query<RowDataPacket[]>('SELECT world_file FROM districts WHERE district_id = 0');
    expect(rows[0]!.world_file).toBe('resource/worlds/final_world/tutorial/tutorial.mxo');
    await expect(db.worlds.setDistrictFile(2, { districtKey: 'slums', worldFile: null })).rejects.toBeInstanceOf(NameTakenError);
    await expect(db.worlds.setDistrictFile(99, { districtKey: 'x', worldFile: null })).rejects.toBeInstanceOf(UnknownDistrictError);
    await expect(db.worlds.setDistrictFile(2, { districtKey: 'x'.repeat(65), worldFile: null })).rejects.toBeInstanceOf(ValidationError);
  });

  it('hold content like any district: vendors, hardlines, world objects, fights, interlocks, logs, bookmarks', async () => {
    // Every district input takes the client's 0 (the tutorial); a negative one stays refused.
    const { accountId } = await db.accounts.register({ username: 'tutor', password: 'tutorial-pass-1' });
    const a = (await db.characters.create({ accountId, name: 'TutorA', districtId: 0 })).characterId;
    const b = (await db.characters.create({ accountId, name: 'TutorB', districtId: 0 })).characterId;
    await db.characters.adjustMoney(a, 100, 'admin_grant');
    const templateId = await db.items.defineTemplate({ itemName: 'Tutorial stim', itemType: 'consumable', vendorPrice: 1 });
    const here = { x: 1, y: 0, z: 1 };
    const { vendorId } = await db.vendors.define({
      vendorName: 'Tutorial vendor',
      districtId: 0,
      position: here,
      vendorType: 'general',
      stock: [{ templateId, maxStock: 5, basePrice: 1 }],
    });
    await db.vendors.buy({ characterId: a, vendorId, templateId });
    const { hardlineId } = await db.world.defineHardline({
      districtId: 0,
      hardlineName: 'Tutorial exit',
      position: here,
      hardlineNumber: 1,
    });
    expect(await db.world.hardlineByNumber(0, 1)).toMatchObject({ hardlineId });
    await db.world.upsertObject({ districtId: 0, staticObjectId: 7, objectType: 'door', state: 'inactive' });
    const boot = await db.world.loadDistrict(0);
    expect([boot.vendors.length, boot.hardlines.length, boot.objects.length]).toEqual([1, 1, 1]);
    await db.combat.record({
      encounterType: 'pvp',
      initiatorId: a,
      targetId: b,
      targetType: 'player',
      districtId: 0,
      position: here,
      result: 'win',
      winnerId: a,
    });
    await db.interlock.start({ participants: [a, b], districtId: 0, interlockType: 'duel', maxRounds: 1 });
    await db.logs.chat({ characterId: a, channel: 'say', message: 'hello tutorial', districtId: 0 });
    await db.world.flush();
    expect((await db.logs.chatHistory({ districtId: 0, consistency: 'strong' })).map((l) => l.message)).toEqual(['hello tutorial']);
    // Without a district, a line is stored in the character's own (never NULL, which no district query finds).
    await db.logs.chat({ characterId: b, channel: 'say', message: 'where am I' });
    await db.world.flush();
    expect((await db.logs.chatHistory({ districtId: 0, consistency: 'strong' })).map((l) => l.message)).toEqual([
      'where am I',
      'hello tutorial',
    ]);
    await db.world.setBookmark(a, 'start', { districtId: 0, position: here });
    expect(await db.world.bookmarks(a)).toMatchObject([{ name: 'start', districtId: 0 }]);
    await expect(
      db.vendors.define({ vendorName: 'Nowhere', districtId: -1, position: here, vendorType: 'general', stock: [] }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
