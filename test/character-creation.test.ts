import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemNotAllowedError, NameTakenError, NotFoundError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;
let otherAccount: number;
let coat: number;
let shirt: number;
let hat: number;
let stim: number;
const JUMP = 0x80000044;

const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];
const count = async (node: string, sql: string, params: unknown[] = []) => Number((await rows(node, sql, params))[0]!.n);

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  ({ accountId } = await t.db.accounts.register({ username: 'trinity', email: 'trinity@zion.example', password: 'dodge-this-now' }));
  ({ accountId: otherAccount } = await t.db.accounts.register({
    username: 'cypher',
    email: 'cypher@zion.example',
    password: 'ignorance-bliss',
  }));
  coat = await t.db.items.defineTemplate({ itemName: 'Long Coat', itemType: 'clothing', itemSubtype: 'coat', rsiModel: 31, rsiColor: 2 });
  shirt = await t.db.items.defineTemplate({ itemName: 'Tank Top', itemType: 'clothing', itemSubtype: 'shirt', rsiModel: 8, rsiColor: 0 });
  hat = await t.db.items.defineTemplate({ itemName: 'Beanie', itemType: 'clothing', itemSubtype: 'hat', rsiModel: 4, rsiColor: 9 });
  stim = await t.db.items.defineTemplate({ itemName: 'Stim', itemType: 'consumable' });
  await t.db.abilities.defineAbility({ abilityId: JUMP | 0, abilityName: 'Jump', maxAbilityLevel: 10 });
}, 120_000);
afterAll(async () => t?.stop());

describe('creation in two steps', () => {
  it('reserve the name, then appearance, names, worn clothes, items and abilities in one commit', async () => {
    await t.db.characters.reserveName(accountId, 'Trinity');
    await expect(t.db.characters.create({ accountId: otherAccount, name: 'Trinity', districtId: 1 })).rejects.toBeInstanceOf(
      NameTakenError,
    );
    const c = await t.db.characters.create({
      accountId,
      name: 'Trinity',
      appearance: { sex: 1, body: 2, face: 5, hair: 3, hairColor: 1, skinTone: 4 },
      firstName: 'Trinity',
      lastName: 'Unknown',
      background: 'Hacked the IRS database.',
      startingItems: [
        { templateId: coat, slot: 0x65 },
        { templateId: shirt, slot: 0x63 },
        { templateId: stim, slot: 4 },
      ],
      startingAbilities: [{ abilityId: JUMP | 0, level: 2, slot: 0, loaded: true }],
      districtId: 1,
    });
    expect(c).toMatchObject({ archetype: 'hacker', gender: 'female', shard: 'alpha' });
    const { profile, appearance } = await t.db.characters.identity(c.characterId);
    expect(profile).toMatchObject({ firstName: 'Trinity', lastName: 'Unknown', background: 'Hacked the IRS database.' });
    expect(appearance).toMatchObject({
      sex: 1,
      body: 2,
      face: 5,
      hair: 3,
      hairColor: 1,
      skinTone: 4,
      coatModel: 31,
      coatColor: 2,
      shirtModel: 8,
    });
    expect((await t.db.inventory.getBySlot(c.characterId, 0x65))!.templateId).toBe(coat);
    expect((await t.db.inventory.getBySlot(c.characterId, 0x63))!.containerType).toBe('equipped');
    expect((await t.db.inventory.getBySlot(c.characterId, 4))!.templateId).toBe(stim);
    const worn = await rows('alpha-primary', 'SELECT slot_name FROM character_equipment WHERE character_id = ? ORDER BY slot_name', [
      c.characterId,
    ]);
    expect(worn.map((r) => r.slot_name)).toEqual(['clothing_body', 'clothing_outer']);
    expect(await t.db.abilities.list(c.characterId)).toMatchObject([{ abilityId: JUMP, abilityLevel: 2 }]);
    expect(await t.db.abilities.loadout(c.characterId)).toEqual([{ slot: 0, abilityId: JUMP, loaded: true }]);
    expect(
      await count('global-primary', 'SELECT COUNT(*) AS n FROM character_name_reservations WHERE character_name = ?', ['Trinity']),
    ).toBe(0);
    // Later grants go around the starting kit.
    expect((await t.db.inventory.grant(c.characterId, { templateId: stim })).slotPosition).toBe(0);
  });

  it('on another shard too', async () => {
    const c = await t.db.characters.create({
      accountId,
      name: 'Switch',
      appearance: { sex: 1 },
      startingItems: [{ templateId: hat, slot: 0x61 }],
      startingAbilities: [JUMP],
      districtId: 4,
    });
    expect(c.shard).toBe('beta');
    expect(await count('beta-primary', 'SELECT COUNT(*) AS n FROM character_inventory WHERE character_id = ?', [c.characterId])).toBe(1);
    expect((await t.db.characters.identity(c.characterId)).appearance).toMatchObject({ hatModel: 4, hatColor: 9 });
  });

  it('any failure leaves nothing: no character, no directory row, no items; the name stays free', async () => {
    const before = {
      items: await count('alpha-primary', 'SELECT COUNT(*) AS n FROM character_inventory'),
      chars: await count('alpha-primary', 'SELECT COUNT(*) AS n FROM characters'),
      dir: await count('global-primary', 'SELECT COUNT(*) AS n FROM character_directory'),
    };
    const base = { accountId, name: 'Apoc', districtId: 1 };
    await expect(
      t.db.characters.create({
        ...base,
        startingItems: [
          { templateId: coat, slot: 0x65 },
          { templateId: 999_999, slot: 1 },
        ],
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      t.db.characters.create({ ...base, startingItems: [{ templateId: coat, slot: 0x65 }], startingAbilities: [0x80000999] }),
    ).rejects.toBeInstanceOf(NotFoundError);
    // A beanie is a hat: not in the glasses slot.
    await expect(t.db.characters.create({ ...base, startingItems: [{ templateId: hat, slot: 0x62 }] })).rejects.toBeInstanceOf(
      ItemNotAllowedError,
    );
    expect(await count('alpha-primary', 'SELECT COUNT(*) AS n FROM character_inventory')).toBe(before.items);
    expect(await count('alpha-primary', 'SELECT COUNT(*) AS n FROM characters')).toBe(before.chars);
    expect(await count('global-primary', 'SELECT COUNT(*) AS n FROM character_directory')).toBe(before.dir);
    expect(await t.db.characters.findByName('Apoc')).toBeNull();
    expect((await t.db.characters.create({ ...base, startingItems: [{ templateId: hat, slot: 0x61 }] })).characterName).toBe('Apoc');
  });

  it('validates the kit before any SQL', async () => {
    const base = { accountId, name: 'Dozer', districtId: 1 };
    for (const bad of [
      {
        startingItems: [
          { templateId: coat, slot: 3 },
          { templateId: stim, slot: 3 },
        ],
      },
      { startingItems: [{ templateId: coat, slot: 0x69 }] },
      { appearance: { hair: 70_000 } },
      { appearance: { sex: 2 } },
      { gender: 'male' as const, appearance: { sex: 1 } },
      { startingAbilities: [0] },
      { firstName: 'x'.repeat(33) },
    ]) {
      await expect(t.db.characters.create({ ...base, ...bad }), JSON.stringify(bad)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await t.db.characters.findByName('Dozer')).toBeNull();
  });

  it('old callers keep working: archetype and gender, free-form appearance keys', async () => {
    const c = await t.db.characters.create({
      accountId,
      name: 'Morpheus',
      archetype: 'martial_artist',
      gender: 'male',
      appearance: { coatStyle: 'long' },
      districtId: 2,
    });
    expect(c).toMatchObject({ archetype: 'martial_artist', gender: 'male', appearance: { coatStyle: 'long' } });
    expect(await t.db.inventory.list(c.characterId)).toEqual([]);
  });
});
