import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError, NameTakenError, NotFoundError, PresenceHeldError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let alice: number;
let bob: number;

const create = (accountId: number, name: string, districtId = 1) =>
  t.db.characters.create({ accountId, name, archetype: 'hacker', gender: 'female', districtId });

async function one(node: string, sql: string, params: unknown[]): Promise<Record<string, any> | undefined> {
  const [rows] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
  return rows[0];
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  alice = (await t.db.accounts.register({ username: 'alice', email: 'alice@zion.example', password: 'alice-pass-12' })).accountId;
  bob = (await t.db.accounts.register({ username: 'bob', email: 'bob@zion.example', password: 'bob-pass-1234' })).accountId;
}, 120_000);
afterAll(async () => t?.stop());

describe('two-step creation: name reservations', () => {
  it('holds a name for one account; others can neither reserve nor create it until it expires', async () => {
    const { expiresAt } = await t.db.characters.reserveName(alice, 'Trinity', { ttlSec: 300 });
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 200_000);
    await expect(t.db.characters.reserveName(bob, 'Trinity')).rejects.toBeInstanceOf(NameTakenError);
    await expect(t.db.characters.reserveName(bob, 'trinity')).rejects.toBeInstanceOf(NameTakenError); // names compare case-insensitively
    await expect(create(bob, 'Trinity')).rejects.toBeInstanceOf(NameTakenError);
    await t.db.characters.reserveName(alice, 'Trinity'); // the holder may renew
    const trinity = await create(alice, 'Trinity');
    expect(await one('global-primary', 'SELECT * FROM character_name_reservations WHERE character_name = ?', ['Trinity'])).toBeUndefined();
    await expect(t.db.characters.reserveName(bob, 'Trinity')).rejects.toBeInstanceOf(NameTakenError); // now a character's
    expect(trinity.characterName).toBe('Trinity');

    await t.db.characters.reserveName(alice, 'Switch');
    await (
      await t.sql('global-primary')
    ).query("UPDATE character_name_reservations SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE character_name = 'Switch'");
    await t.db.characters.reserveName(bob, 'Switch'); // expired: free again
    await expect(create(alice, 'Switch')).rejects.toBeInstanceOf(NameTakenError);
  });

  it('validates', async () => {
    await expect(t.db.characters.reserveName(alice, 'a~b')).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.reserveName(alice, 'x'.repeat(33))).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.reserveName(alice, 'Fine', { ttlSec: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.reserveName(999_999, 'Nobody')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('one account holds at most 3 live reservations; renewing one of them and a lapsed one do not count (issue 23)', async () => {
    const { accountId: hoarder } = await t.db.accounts.register({
      username: 'hoarder',
      email: 'hoarder@zion.example',
      password: 'hoard-names-1',
    });
    for (const name of ['Hoard1', 'Hoard2', 'Hoard3']) await t.db.characters.reserveName(hoarder, name);
    const fourth = t.db.characters.reserveName(hoarder, 'Hoard4');
    await expect(fourth).rejects.toBeInstanceOf(InvalidStateError);
    await expect(fourth).rejects.toMatchObject({ state: 'reservation_limit' });
    expect(
      await one('global-primary', "SELECT COUNT(*) AS n FROM character_name_reservations WHERE character_name = 'Hoard4'", []),
    ).toEqual({ n: 0 });
    await t.db.characters.reserveName(hoarder, 'Hoard2'); // a renewal
    await (
      await t.sql('global-primary')
    ).query("UPDATE character_name_reservations SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE character_name = 'Hoard1'");
    await t.db.characters.reserveName(hoarder, 'Hoard4'); // Hoard1 lapsed
    // Concurrent reservations are counted one at a time: of five at once, three hold.
    const { accountId: rusher } = await t.db.accounts.register({
      username: 'rusher',
      email: 'rusher@zion.example',
      password: 'rush-names-12',
    });
    const results = await Promise.allSettled(
      ['Rush1', 'Rush2', 'Rush3', 'Rush4', 'Rush5'].map((n) => t.db.characters.reserveName(rusher, n)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([
      expect.any(InvalidStateError),
      expect.any(InvalidStateError),
    ]);
  });
});

describe('findByName and soft delete', () => {
  it('finds a character by name from the directory; delete frees the name and keeps the rows', async () => {
    await t.db.worlds.register({ worldId: 3, name: 'Vector' });
    const mouse = await create(alice, 'Mouse', 5);
    await t.db.worlds.assignCharacter(mouse.characterId, 3);
    expect(await t.db.characters.findByName('Mouse')).toEqual({
      characterId: mouse.characterId,
      accountId: alice,
      shard: 'beta',
      districtId: 5,
      worldId: 3,
    });
    expect(await t.db.characters.findByName('Nobody')).toBeNull();

    const claim = await t.db.presence.claim(mouse.characterId, { serverId: 'd5', districtId: 5 });
    await expect(t.db.characters.delete(mouse.characterId)).rejects.toBeInstanceOf(PresenceHeldError);
    await t.db.presence.release(mouse.characterId, claim.fencingToken);
    await t.db.characters.adjustMoney(mouse.characterId, 77, 'quest_reward');
    await t.db.characters.delete(mouse.characterId);

    expect(await t.db.characters.findByName('Mouse')).toBeNull();
    await expect(t.db.characters.get(mouse.characterId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.characters.load(mouse.characterId)).rejects.toBeInstanceOf(NotFoundError);
    expect((await t.db.characters.listByAccount(alice)).map((c) => c.characterName)).not.toContain('Mouse');
    await expect(t.db.characters.delete(mouse.characterId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.characters.setProfile(mouse.characterId, { firstName: 'X' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.presence.claim(mouse.characterId, { serverId: 'd5', districtId: 5 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      t.db.presence.issueHandoff({ accountId: alice, characterId: mouse.characterId, serverId: 'd5', districtId: 5 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    // Rows kept, name given up on the shard and in the directory.
    expect(
      await one(
        'beta-primary',
        'SELECT character_name, deleted_name, money, deleted_at IS NOT NULL AS gone FROM characters WHERE character_id = ?',
        [mouse.characterId],
      ),
    ).toEqual({ character_name: `~${mouse.characterId}`, deleted_name: 'Mouse', money: 77, gone: 1 });
    expect(
      await one('global-primary', 'SELECT character_name FROM character_directory WHERE character_id = ?', [mouse.characterId]),
    ).toEqual({
      character_name: `~${mouse.characterId}`,
    });
    // The name is free again, on the same shard too.
    const again = await create(bob, 'Mouse', 5);
    expect((await t.db.characters.findByName('Mouse'))!.characterId).toBe(again.characterId);
  });
});

describe('appearance and profile', () => {
  it('merges typed RSI fields and keeps the rest of the appearance', async () => {
    const neo = await t.db.characters.create({
      accountId: alice,
      name: 'Neo',
      archetype: 'hacker',
      gender: 'male',
      districtId: 2,
      appearance: { sex: 0, face: 4, legacyKey: 'kept' },
    });
    expect(await t.db.characters.setAppearance(neo.characterId, { hatModel: 12, hatColor: 3, hair: 7 })).toEqual({
      sex: 0,
      face: 4,
      hair: 7,
      hatModel: 12,
      hatColor: 3,
    });
    expect(await t.db.characters.setAppearance(neo.characterId, { hatColor: 9, shoesModel: 2 })).toMatchObject({
      hatModel: 12,
      hatColor: 9,
      shoesModel: 2,
    });
    expect((await t.db.characters.get(neo.characterId)).appearance).toMatchObject({ legacyKey: 'kept', hatColor: 9 });
    await expect(t.db.characters.setAppearance(neo.characterId, {})).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setAppearance(neo.characterId, { sex: 2 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setAppearance(neo.characterId, { hatModel: 70_000 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setAppearance(neo.characterId, { cape: 1 } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('sets profile fields, bounded by their columns', async () => {
    const morpheus = await create(bob, 'Morpheus', 6);
    expect(
      await t.db.characters.setProfile(morpheus.characterId, {
        firstName: 'Morpheus',
        background: 'Captain of the Nebuchadnezzar',
        cqPoints: 3,
      }),
    ).toEqual({
      firstName: 'Morpheus',
      lastName: null,
      background: 'Captain of the Nebuchadnezzar',
      profession: 0,
      alignment: 0,
      cqPoints: 3,
      status: 0,
    });
    const after = await t.db.characters.setProfile(morpheus.characterId, {
      lastName: 'X',
      profession: 5,
      alignment: 2,
      status: 2,
      firstName: null,
    });
    expect(after).toMatchObject({ firstName: null, lastName: 'X', profession: 5, alignment: 2, status: 2, cqPoints: 3 });
    // The client's alignment code and the seed's faction are one idea (2: Machines).
    expect((await t.db.characters.get(morpheus.characterId)).faction).toBe('machine');
    await expect(t.db.characters.setProfile(morpheus.characterId, { alignment: -1 })).rejects.toBeInstanceOf(ValidationError);
    expect(await t.db.characters.identity(morpheus.characterId)).toMatchObject({ profile: after, appearance: {} });
    await expect(t.db.characters.setProfile(morpheus.characterId, { firstName: 'x'.repeat(32) })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setProfile(morpheus.characterId, { background: '😀'.repeat(16_384) })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(t.db.characters.setProfile(morpheus.characterId, { cqPoints: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setProfile(morpheus.characterId, {})).rejects.toBeInstanceOf(ValidationError);
  });
});
