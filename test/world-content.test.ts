import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InsufficientFundsError,
  InvalidStateError,
  NameTakenError,
  NotFoundError,
  RequirementNotMetError,
  UnknownDistrictError,
  ValidationError,
  WrongDistrictError,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let runner: number;
let poor: number;

const q = async (node: string, sql: string, params: unknown[] = []) => (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const { accountId } = await t.db.accounts.register({ username: 'tank', email: 'tank@zion.example', password: 'operator-2' });
  runner = (await t.db.characters.create({ accountId, name: 'Tank', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
  poor = (await t.db.characters.create({ accountId, name: 'Apoc', archetype: 'spy', gender: 'male', districtId: 1 })).characterId;
  await t.db.characters.adjustMoney(runner, 100, 'admin_grant');
});
afterAll(async () => t?.stop());

describe('districts', () => {
  it('defines a configured district on global and every shard; refuses unknown districts and taken names', async () => {
    await t.db.world.defineDistrict({
      districtId: 1,
      districtName: 'Richland',
      districtType: 'downtown',
      pvpEnabled: true,
      maxPlayers: 80,
    });
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      expect((await q(node, 'SELECT district_name, pvp_enabled, max_players FROM districts WHERE district_id = 1'))[0]).toMatchObject({
        district_name: 'Richland',
        pvp_enabled: 1,
        max_players: 80,
      });
    }
    await expect(t.db.world.defineDistrict({ districtId: 99, districtName: 'Nowhere', districtType: 'slums' })).rejects.toBeInstanceOf(
      UnknownDistrictError,
    );
    await expect(t.db.world.defineDistrict({ districtId: 2, districtName: 'Richland', districtType: 'slums' })).rejects.toBeInstanceOf(
      NameTakenError,
    );
    await expect(t.db.world.defineDistrict({ districtId: 2, districtName: 'x'.repeat(65), districtType: 'slums' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('world objects and events', () => {
  it('spawns objects on the district shard and changes their state', async () => {
    const { objectId } = await t.db.world.spawnObject({
      districtId: 4,
      objectType: 'terminal',
      objectName: 'Jack-in',
      position: { x: 1, y: 2, z: 3 },
    });
    await t.db.world.setObjectState(objectId, 'destroyed');
    expect(
      (await q('beta-primary', 'SELECT current_state, last_interaction FROM world_objects WHERE object_id = ?', [objectId]))[0]!
        .current_state,
    ).toBe('destroyed');
    expect((await q('alpha-primary', 'SELECT COUNT(*) AS n FROM world_objects WHERE object_id = ?', [objectId]))[0]!.n).toBe(0);
    await expect(t.db.world.setObjectState(objectId, 'melted' as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.world.setObjectState(987_654_321, 'active')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('starts, joins (once, in the district) and ends events; loadDistrict returns everything', async () => {
    const { eventId, status } = await t.db.world.startEvent({
      districtId: 1,
      eventType: 'combat',
      eventName: 'Agent sweep',
      eventData: { agents: 3 },
    });
    expect(status).toBe('active');
    expect(await t.db.world.joinEvent(eventId, runner)).toEqual({ joined: true, participants: [runner] });
    expect((await t.db.world.joinEvent(eventId, runner)).joined).toBe(false);
    expect(
      (await q('alpha-primary', 'SELECT events_participated FROM character_statistics WHERE character_id = ?', [runner]))[0]!
        .events_participated,
    ).toBe(1);
    const { objectId } = await t.db.world.spawnObject({
      districtId: 1,
      objectType: 'npc',
      objectName: 'Oracle',
      position: { x: 0, y: 0, z: 0 },
    });
    const tpl = await t.db.items.defineTemplate({ itemName: 'Cookie', itemType: 'consumable' });
    await t.db.vendors.define({
      vendorName: 'Baker',
      districtId: 1,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'general',
      stock: [{ templateId: tpl, maxStock: 4, basePrice: 2 }],
    });
    const load = await t.db.world.loadDistrict(1);
    expect(load.district).toMatchObject({ district_name: 'Richland' });
    expect(load.objects.map((o) => Number(o.object_id))).toContain(objectId);
    expect(load.vendors[0]!.stock[0]).toMatchObject({ templateId: tpl, currentStock: 4 });
    expect(load.activeEvents.map((e) => Number(e.event_id))).toEqual([eventId]);
    const activity = await t.db.world.districtActivity({ consistency: 'strong' });
    expect(activity.find((d) => d.districtId === 1)).toMatchObject({ activeEvents: 1, shard: 'alpha' });
    await t.db.world.endEvent(eventId, { survivors: [runner] });
    await expect(t.db.world.joinEvent(eventId, poor)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.world.endEvent(eventId)).rejects.toBeInstanceOf(InvalidStateError);
    expect((await t.db.world.loadDistrict(1, { consistency: 'strong' })).activeEvents).toEqual([]);
    const far = await t.db.world.startEvent({ districtId: 5, eventType: 'story' });
    await expect(t.db.world.joinEvent(far.eventId, poor)).rejects.toBeInstanceOf(WrongDistrictError);
  });
});

describe('hardlines', () => {
  it('travel: fare charged with a ledger row, usage counted, the character moved across shards in one transaction', async () => {
    const { hardlineId: park } = await t.db.world.defineHardline({
      districtId: 1,
      hardlineName: 'Park',
      position: { x: 0, y: 0, z: 0 },
      connectionCost: 30,
    });
    const { hardlineId: pier } = await t.db.world.defineHardline({ districtId: 4, hardlineName: 'Pier', position: { x: 0, y: 0, z: 0 } });
    const r = await t.db.world.useHardline(runner, park, pier);
    expect(r).toMatchObject({ districtId: 4, shard: 'beta', movedShards: true, cost: 30 });
    expect((await q('beta-primary', 'SELECT money, district_id FROM characters WHERE character_id = ?', [runner]))[0]).toMatchObject({
      money: 70,
      district_id: 4,
    });
    expect((await q('alpha-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [runner]))[0]!.n).toBe(0);
    expect((await q('alpha-primary', 'SELECT usage_count FROM hardlines WHERE hardline_id = ?', [park]))[0]!.usage_count).toBe(1);
    expect(
      (
        await q(
          'alpha-primary',
          "SELECT money_amount FROM transaction_history WHERE from_character_id = ? AND transaction_reason LIKE 'hardline fare%'",
          [runner],
        )
      )[0]!.money_amount,
    ).toBe(30);
    expect((await q('global-primary', 'SELECT shard_name FROM character_directory WHERE character_id = ?', [runner]))[0]!.shard_name).toBe(
      'beta',
    );
    // Back within the same call shape; the pier is free.
    expect(await t.db.world.useHardline(runner, pier, park)).toMatchObject({ districtId: 1, shard: 'alpha', cost: 0 });
  });

  it('refuses the wrong district, unconnected lines, level and faction, and a fare the character cannot pay; nothing changes', async () => {
    const { hardlineId: a } = await t.db.world.defineHardline({
      districtId: 2,
      hardlineName: 'Alley',
      position: { x: 0, y: 0, z: 0 },
      connectionCost: 500,
    });
    const { hardlineId: b } = await t.db.world.defineHardline({
      districtId: 1,
      hardlineName: 'Gate',
      position: { x: 0, y: 0, z: 0 },
      connectedHardlines: [a],
    });
    const { hardlineId: elite } = await t.db.world.defineHardline({
      districtId: 5,
      hardlineName: 'Tower',
      position: { x: 0, y: 0, z: 0 },
      levelRequirement: 40,
    });
    const { hardlineId: zion } = await t.db.world.defineHardline({
      districtId: 2,
      hardlineName: 'Zion line',
      position: { x: 0, y: 0, z: 0 },
      factionRequirement: 'zion',
    });
    await expect(t.db.world.useHardline(poor, a, b)).rejects.toBeInstanceOf(WrongDistrictError); // poor stands in district 1
    await expect(t.db.world.useHardline(poor, b, elite)).rejects.toBeInstanceOf(InvalidStateError); // not connected
    const { hardlineId: open } = await t.db.world.defineHardline({ districtId: 1, hardlineName: 'Open', position: { x: 0, y: 0, z: 0 } });
    await expect(t.db.world.useHardline(poor, open, elite)).rejects.toBeInstanceOf(RequirementNotMetError);
    await expect(t.db.world.useHardline(poor, open, zion)).rejects.toBeInstanceOf(RequirementNotMetError);
    await t.db.world.useHardline(poor, open, a);
    await expect(t.db.world.useHardline(poor, a, open)).rejects.toBeInstanceOf(InsufficientFundsError);
    expect((await q('alpha-primary', 'SELECT district_id, money FROM characters WHERE character_id = ?', [poor]))[0]).toMatchObject({
      district_id: 2,
      money: 0,
    });
    expect((await q('alpha-primary', 'SELECT usage_count FROM hardlines WHERE hardline_id = ?', [a]))[0]!.usage_count).toBe(0);
  });

  it('a private hardline needs its access code', async () => {
    const { hardlineId: door } = await t.db.world.defineHardline({ districtId: 2, hardlineName: 'Door', position: { x: 0, y: 0, z: 0 } });
    const { hardlineId: vault } = await t.db.world.defineHardline({
      districtId: 3,
      hardlineName: 'Vault',
      position: { x: 0, y: 0, z: 0 },
      hardlineType: 'private',
      accessCode: 'KEYMAKER',
    });
    await expect(t.db.world.useHardline(poor, door, vault)).rejects.toMatchObject({ code: 'INVALID_STATE', state: 'private' });
    await expect(t.db.world.useHardline(poor, door, vault, { accessCode: 'WRONG' })).rejects.toBeInstanceOf(InvalidStateError);
    expect(await t.db.world.useHardline(poor, door, vault, { accessCode: 'KEYMAKER' })).toMatchObject({ districtId: 3 });
  });

  it('characters.moveToDistrict still moves across shards (the shared move helper)', async () => {
    expect(await t.db.characters.moveToDistrict(poor, 6)).toMatchObject({ shard: 'beta', movedShards: true, districtId: 6 });
    expect((await q('beta-primary', 'SELECT district_id FROM characters WHERE character_id = ?', [poor]))[0]!.district_id).toBe(6);
  });
});
