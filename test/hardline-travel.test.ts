import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, NameTakenError, NotFoundError, ValidationError, WrongDistrictError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// The world keyed the client's way: hardlines by (district, number), a known set per character
// that moves with it, trips by numbers over useHardline's path, objects by (district, static id).
let t: TestCluster;
let accountId: number;
const q = async (node: string, sql: string, params: unknown[] = []) => (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  accountId = (await t.db.accounts.register({ username: 'switch', email: 'switch@zion.example', password: 'operator-77' })).accountId;
});
afterAll(async () => t?.stop());

let n = 0;
const character = async (districtId: number) =>
  (await t.db.characters.create({ accountId, name: `Runner${n++}`, archetype: 'hacker', gender: 'female', districtId })).characterId;
const at = { x: 0, y: 0, z: 0 };

describe('hardlines by number', () => {
  it('looks hardlines up by (district, number); a number is unique within its district; the signed form is accepted', async () => {
    const { hardlineId } = await t.db.world.defineHardline({ districtId: 2, hardlineName: 'Mara C', position: at, hardlineNumber: 11 });
    expect(await t.db.world.hardlineByNumber(2, 11)).toMatchObject({
      hardlineId,
      districtId: 2,
      hardlineNumber: 11,
      hardlineName: 'Mara C',
    });
    expect(await t.db.world.hardlineByNumber(2, 12)).toBeNull();
    expect(await t.db.world.hardlineByNumber(5, 11)).toBeNull();
    await expect(
      t.db.world.defineHardline({ districtId: 2, hardlineName: 'Twin', position: at, hardlineNumber: 11 }),
    ).rejects.toBeInstanceOf(NameTakenError);
    // Another district may use the same number.
    await t.db.world.defineHardline({ districtId: 5, hardlineName: 'Other 11', position: at, hardlineNumber: 11 });
    expect((await t.db.world.hardlineByNumber(5, 11))!.hardlineName).toBe('Other 11');
    const { hardlineId: high } = await t.db.world.defineHardline({ districtId: 2, hardlineName: 'High', position: at, hardlineNumber: -2 });
    expect(await t.db.world.hardlineByNumber(2, 0xfffffffe)).toMatchObject({ hardlineId: high, hardlineNumber: 0xfffffffe });
    await expect(t.db.world.hardlineByNumber(2, 2 ** 32)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.world.hardlineByNumber(-1, 1)).rejects.toBeInstanceOf(ValidationError);
  });

  it('discovers a hardline only in the character’s district, once', async () => {
    const c = await character(3);
    await t.db.world.defineHardline({ districtId: 3, hardlineName: 'Westview', position: at, hardlineNumber: 4 });
    await t.db.world.defineHardline({ districtId: 6, hardlineName: 'Far', position: at, hardlineNumber: 4 });
    await expect(t.db.world.discoverHardline(c, 6, 4)).rejects.toBeInstanceOf(WrongDistrictError);
    await expect(t.db.world.discoverHardline(c, 3, 99)).rejects.toBeInstanceOf(NotFoundError);
    expect(await t.db.world.discoverHardline(c, 3, 4)).toEqual({ discovered: true });
    expect(await t.db.world.discoverHardline(c, 3, 4)).toEqual({ discovered: false });
    expect((await t.db.world.knownHardlines(c)).map((k) => [k.districtId, k.hardlineNumber])).toEqual([[3, 4]]);
    await expect(t.db.world.knownHardlines(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('travel by numbers', () => {
  it('refuses an undiscovered destination with nothing written; a known one moves the character, its fare and its known set across shards', async () => {
    const c = await character(1);
    await t.db.characters.adjustMoney(c, 50, 'admin_grant');
    await t.db.world.defineHardline({ districtId: 1, hardlineName: 'Park', position: at, hardlineNumber: 1, connectionCost: 20 });
    await t.db.world.defineHardline({ districtId: 4, hardlineName: 'Pier', position: at, hardlineNumber: 2 });
    const trip = { from: { districtId: 1, hardlineNumber: 1 }, to: { districtId: 4, hardlineNumber: 2 } };

    await expect(t.db.world.travel(c, trip)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await q('alpha-primary', 'SELECT money, district_id FROM characters WHERE character_id = ?', [c]))[0]).toMatchObject({
      money: 50,
      district_id: 1,
    });
    expect((await q('alpha-primary', 'SELECT COUNT(*) AS n FROM character_known_hardlines WHERE character_id = ?', [c]))[0]!.n).toBe(0);
    await expect(t.db.world.travel(c, { from: trip.from, to: { districtId: 4, hardlineNumber: 77 } })).rejects.toBeInstanceOf(
      NotFoundError,
    );

    // Discover the pier by going there, then come back.
    await t.db.characters.moveToDistrict(c, 4);
    await t.db.world.discoverHardline(c, 4, 2);
    await t.db.characters.moveToDistrict(c, 1);

    const moved = await t.db.world.travel(c, trip);
    expect(moved).toMatchObject({ districtId: 4, shard: 'beta', movedShards: true, cost: 20 });
    expect((await q('beta-primary', 'SELECT money, district_id FROM characters WHERE character_id = ?', [c]))[0]).toMatchObject({
      money: 30,
      district_id: 4,
    });
    const fare = await q(
      'alpha-primary',
      "SELECT money_amount FROM transaction_history WHERE from_character_id = ? AND transaction_type = 'vendor_purchase'",
      [c],
    );
    expect(fare.map((r) => r.money_amount)).toEqual([20]);
    // The known set moved with the character; the source became known on the way.
    const known = await q(
      'beta-primary',
      'SELECT district_id, hardline_number FROM character_known_hardlines WHERE character_id = ? ORDER BY district_id',
      [c],
    );
    expect(known.map((r) => [r.district_id, r.hardline_number])).toEqual([
      [1, 1],
      [4, 2],
    ]);
    expect((await q('alpha-primary', 'SELECT COUNT(*) AS n FROM character_known_hardlines WHERE character_id = ?', [c]))[0]!.n).toBe(0);
    expect((await t.db.world.knownHardlines(c, { consistency: 'strong' })).length).toBe(2);
    // And back: the park is known now.
    expect(await t.db.world.travel(c, { from: trip.to, to: trip.from })).toMatchObject({ districtId: 1, shard: 'alpha', cost: 0 });
  });
});

describe('world objects by static id', () => {
  it('upserts by (district, static object id): created once, later only the fields given change', async () => {
    const first = await t.db.world.upsertObject({
      districtId: 2,
      staticObjectId: 0x3f001,
      objectType: 'door',
      objectName: 'Lobby door',
      position: { x: 1, y: 2, z: 3 },
    });
    expect(first.created).toBe(true);
    expect(await t.db.world.objectByStaticId(2, 0x3f001)).toMatchObject({
      objectId: first.objectId,
      objectType: 'door',
      state: 'active',
      objectName: 'Lobby door',
      position: { x: 1, y: 2, z: 3 },
    });
    const again = await t.db.world.upsertObject({ districtId: 2, staticObjectId: 0x3f001, objectType: 'door', state: 'inactive' });
    expect(again).toEqual({ objectId: first.objectId, created: false });
    expect(await t.db.world.objectByStaticId(2, 0x3f001, { consistency: 'strong' })).toMatchObject({
      state: 'inactive',
      objectName: 'Lobby door',
      position: { x: 1, y: 2, z: 3 },
    });
    expect((await q('alpha-primary', 'SELECT COUNT(*) AS n FROM world_objects WHERE static_object_id = ?', [0x3f001]))[0]!.n).toBe(1);
    // The same static id in another district is another object; signed ids are stored unsigned.
    const other = await t.db.world.upsertObject({ districtId: 5, staticObjectId: -1, objectType: 'hardline' });
    expect(other.created).toBe(true);
    expect((await t.db.world.objectByStaticId(5, 0xffffffff))!.objectId).toBe(other.objectId);
    expect(await t.db.world.objectByStaticId(2, 0x3f002)).toBeNull();
    await expect(t.db.world.upsertObject({ districtId: 2, staticObjectId: 1, objectType: 'portal' as never })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
