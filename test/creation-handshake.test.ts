import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError, MXO_HD_STARTING_ABILITIES, NameTakenError, RequirementError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Issue 22: creation as the client does it (contract part four). The name reply carries the
// character id (reserveName gives it, create uses it); mxo-hd's starting kit is stored as it
// gives it; reference data is imported in batches, one two-phase commit each, all or nothing.
let t: TestCluster;
let neoAccount: number;
let smithAccount: number;
const NODES = ['global-primary', 'alpha-primary', 'beta-primary'] as const;
type Node = (typeof NODES)[number];

const conns = new Map<Node, Connection>();
async function sql(node: Node): Promise<Connection> {
  if (!conns.has(node)) conns.set(node, await t.sql(node));
  return conns.get(node)!;
}
async function rows(node: Node, text: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  return (await (await sql(node)).query<RowDataPacket[]>(text, params))[0];
}
async function count(node: Node, text: string, params: unknown[] = []): Promise<number> {
  return Number((await rows(node, text, params))[0]!.n);
}
const SHARDS: Node[] = ['alpha-primary', 'beta-primary'];
/** Row counts of a table on the primaries that hold it (reference tables: all of them). */
async function counts(table: string, where = '1 = 1', params: unknown[] = [], nodes: readonly Node[] = NODES): Promise<number[]> {
  return Promise.all(nodes.map((n) => count(n, `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params)));
}
/** XA PREPAREs each primary has run so far, and the commit records on global: the two-phase commits. */
async function twoPhase(): Promise<{ prepares: number[]; decisions: number }> {
  const prepares = await Promise.all(NODES.map(async (n) => Number((await rows(n, "SHOW GLOBAL STATUS LIKE 'Com_xa_prepare'"))[0]!.Value)));
  return { prepares, decisions: await count('global-primary', "SELECT COUNT(*) AS n FROM twopc_decisions WHERE decision = 'commit'") };
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, globalReplicas: 1 });
  ({ accountId: neoAccount } = await t.db.accounts.register({
    username: 'thomas',
    email: 'thomas@metacortex.example',
    password: 'follow-the-rabbit',
  }));
  ({ accountId: smithAccount } = await t.db.accounts.register({
    username: 'smith',
    email: 'smith@matrix.example',
    password: 'mister-anderson',
  }));
}, 120_000);
afterAll(async () => {
  for (const c of conns.values()) await c.end();
  await t?.stop();
});

describe('the name reply carries the character id', () => {
  it('reserveName gives an id; create({ characterId }) makes the character under that id and the reserved name', async () => {
    const before = await t.db.characters.create({ accountId: smithAccount, name: 'Before', districtId: 1 });
    const { characterId, name } = await t.db.characters.reserveName(neoAccount, 'Neo');
    expect(name).toBe('Neo');
    expect(characterId).toBeGreaterThan(before.characterId);
    expect((await t.db.characters.reserveName(neoAccount, 'Neo')).characterId).toBe(characterId); // renewal keeps it
    // Held in the reservation, not in the directory (nothing routes to it before create).
    expect(
      await rows('global-primary', 'SELECT character_id, account_id FROM character_name_reservations WHERE character_name = ?', ['Neo']),
    ).toEqual([{ character_id: characterId, account_id: neoAccount }]);
    expect(await count('global-primary', 'SELECT COUNT(*) AS n FROM character_directory WHERE character_id = ?', [characterId])).toBe(0);
    // Meanwhile the directory hands out other ids: never the reserved one.
    const meanwhile = await t.db.characters.create({ accountId: smithAccount, name: 'Meanwhile', districtId: 2 });
    expect(meanwhile.characterId).not.toBe(characterId);

    const neo = await t.db.characters.create({ accountId: neoAccount, characterId, districtId: 1 }); // no name: the reserved one
    expect(neo).toMatchObject({ characterId, characterName: 'Neo', accountId: neoAccount });
    expect(
      await rows('global-primary', 'SELECT account_id, character_name FROM character_directory WHERE character_id = ?', [characterId]),
    ).toEqual([{ account_id: neoAccount, character_name: 'Neo' }]);
    expect(
      await count('alpha-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ? AND character_name = ?', [
        characterId,
        'Neo',
      ]),
    ).toBe(1);
    expect(await count('global-primary', "SELECT COUNT(*) AS n FROM character_name_reservations WHERE character_name = 'Neo'")).toBe(0);
    await expect(t.db.characters.reserveName(neoAccount, 'Neo')).rejects.toBeInstanceOf(NameTakenError);

    // With the name given too (any case, as the directory compares): the reserved one is kept.
    const { characterId: trinityId } = await t.db.characters.reserveName(neoAccount, 'Trinity');
    const trinity = await t.db.characters.create({ accountId: neoAccount, characterId: trinityId, name: 'TRINITY', districtId: 2 });
    expect(trinity).toMatchObject({ characterId: trinityId, characterName: 'Trinity' });
  });

  it('reservations at once: one holder per name, and every reserved id distinct from every other id', async () => {
    const accounts = await Promise.all(
      ['oracle', 'seraph', 'niobe'].map(
        async (u) => (await t.db.accounts.register({ username: u, email: `${u}@zion.example`, password: `${u}-pass-123` })).accountId,
      ),
    );
    const same = await Promise.allSettled(accounts.map((a) => t.db.characters.reserveName(a, 'Keymaker')));
    const won = same.filter((r) => r.status === 'fulfilled') as Array<PromiseFulfilledResult<{ characterId: number }>>;
    expect(won).toHaveLength(1);
    for (const r of same) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(NameTakenError);
    const many = await Promise.all(accounts.flatMap((a, i) => [`Ghost${i}a`, `Ghost${i}b`].map((n) => t.db.characters.reserveName(a, n))));
    const ids = [...many.map((r) => r.characterId), won[0]!.value.characterId];
    const existing = (await rows('global-primary', 'SELECT character_id FROM character_directory')).map((r) => Number(r.character_id));
    expect(new Set([...ids, ...existing]).size).toBe(ids.length + existing.length);
  });

  it("a reserved id is past the replica's AUTO_INCREMENT too: a promoted global replica does not hand it out", async () => {
    const { characterId } = await t.db.characters.reserveName(smithAccount, 'Persephone');
    const replica = await t.sql('global-replica-1');
    try {
      const [[primaryGtid]] = await (await sql('global-primary')).query<RowDataPacket[]>('SELECT @@gtid_binlog_pos AS pos');
      await replica.query('SELECT MASTER_GTID_WAIT(?, 30)', [primaryGtid!.pos]);
      const [[row]] = await replica.query<RowDataPacket[]>(
        "SELECT AUTO_INCREMENT AS next FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'character_directory'",
      );
      expect(Number(row!.next)).toBeGreaterThan(characterId);
      const [[copy]] = await replica.query<RowDataPacket[]>(
        'SELECT character_id FROM character_name_reservations WHERE character_name = ?',
        ['Persephone'],
      );
      expect(copy).toEqual({ character_id: characterId });
    } finally {
      await replica.end();
    }
  });

  it('create without characterId still works, and keeps the id the account was told for its reserved name', async () => {
    const { characterId } = await t.db.characters.reserveName(neoAccount, 'Morpheus');
    const morpheus = await t.db.characters.create({ accountId: neoAccount, name: 'Morpheus', districtId: 1 });
    expect(morpheus.characterId).toBe(characterId);
    const plain = await t.db.characters.create({ accountId: neoAccount, name: 'Tank', districtId: 1 });
    expect(plain.characterId).toBeGreaterThan(characterId);
  });

  it('an id not reserved by this account for this name, or lapsed, is refused and nothing is written', async () => {
    const { characterId: smithsId } = await t.db.characters.reserveName(smithAccount, 'Smith');
    const { characterId: cypherId } = await t.db.characters.reserveName(neoAccount, 'Cypher');
    const directory = await count('global-primary', 'SELECT COUNT(*) AS n FROM character_directory');
    const characters = await counts('characters', '1 = 1', [], SHARDS);
    const reservations = await count('global-primary', 'SELECT COUNT(*) AS n FROM character_name_reservations');

    const refused = async (input: Parameters<typeof t.db.characters.create>[0], state: string) => {
      const call = t.db.characters.create(input);
      await expect(call).rejects.toBeInstanceOf(InvalidStateError);
      await expect(call).rejects.toMatchObject({ state });
    };
    await refused({ accountId: neoAccount, characterId: smithsId, districtId: 1 }, 'not_reserved'); // another account's
    await refused({ accountId: neoAccount, characterId: cypherId, name: 'Mouse', districtId: 1 }, 'not_reserved'); // another name
    await refused({ accountId: neoAccount, characterId: 2_000_000_000, name: 'Cypher', districtId: 1 }, 'not_reserved'); // no such id
    await (
      await sql('global-primary')
    ).query("UPDATE character_name_reservations SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE character_name = 'Cypher'");
    await refused({ accountId: neoAccount, characterId: cypherId, districtId: 1 }, 'reservation_expired');

    expect(await count('global-primary', 'SELECT COUNT(*) AS n FROM character_directory')).toBe(directory);
    expect(await counts('characters', '1 = 1', [], SHARDS)).toEqual(characters);
    expect(await count('global-primary', 'SELECT COUNT(*) AS n FROM character_name_reservations')).toBe(reservations);
    // Still usable by its holder: the refusals used nothing up.
    expect((await t.db.characters.create({ accountId: smithAccount, characterId: smithsId, districtId: 1 })).characterId).toBe(smithsId);
    // Neither name nor characterId: refused before any SQL.
    await expect(t.db.characters.create({ accountId: neoAccount, districtId: 1 })).rejects.toMatchObject({ fields: ['name'] });
  });
});

describe("mxo-hd's starting kit", () => {
  it('level-0 abilities and one ability in slots 12 and 13 are stored as mxo-hd inserts them; they upgrade', async () => {
    await t.db.abilities.defineMany(MXO_HD_STARTING_ABILITIES.map((a, i) => ({ abilityId: a.abilityId, abilityName: `Kit ${i}` })));
    const { characterId } = await t.db.characters.reserveName(neoAccount, 'Kitted');
    await t.db.characters.create({ accountId: neoAccount, characterId, districtId: 1, startingAbilities: MXO_HD_STARTING_ABILITIES });
    // hds/margin/MarginClient.cs addStartAbilitys: addAbility(id as int32, slot, charId, level, is_loaded), one row per slot.
    const MXO_HD_ROWS: Array<[number, number, number, number]> = [
      [-2147481600, 0, 1, 1],
      [-2147367936, 1, 1, 1],
      [-2147294208, 2, 0, 1],
      [-2147281920, 3, 0, 0],
      [-2147280896, 4, 0, 0],
      [-2147437568, 5, 1, 1],
      [-2147425280, 6, 0, 0],
      [-2147404800, 7, 0, 0],
      [-2147445760, 8, 0, 0],
      [-2146493440, 9, 0, 0],
      [-2146453504, 10, 1, 0],
      [-2147472384, 11, 20, 1],
      [-2147295232, 12, 20, 1],
      [-2147295232, 13, 20, 1],
    ];
    const stored = await rows(
      'alpha-primary',
      `SELECT CAST(s.ability_id AS SIGNED) - IF(s.ability_id >= 2147483648, 4294967296, 0) AS id, s.slot_number, a.ability_level, s.is_loaded
         FROM character_ability_slots s JOIN character_abilities a USING (character_id, ability_id)
        WHERE s.character_id = ? ORDER BY s.slot_number`,
      [characterId],
    );
    expect(stored.map((r) => [Number(r.id), r.slot_number, r.ability_level, r.is_loaded])).toEqual(MXO_HD_ROWS);
    expect(await count('alpha-primary', 'SELECT COUNT(*) AS n FROM character_abilities WHERE character_id = ?', [characterId])).toBe(13);
    // Defined without a maximum, an ability levels up (the default maximum is no longer 1).
    expect((await t.db.abilities.upgrade(characterId, 0x8002e400, 3)).abilityLevel).toBe(3);
    expect((await t.db.abilities.upgrade(characterId, 0x8002e000, 107)).abilityLevel).toBe(127);
    await expect(t.db.abilities.upgrade(characterId, 0x8002e000, 1)).rejects.toMatchObject({ requirement: 'max_level' });
  });

  it('a kit level above the template maximum, or a slot given twice, is refused with nothing written', async () => {
    await t.db.abilities.defineAbility({ abilityId: 0x80770000, abilityName: 'Capped', maxAbilityLevel: 5 });
    const characters = await counts('characters', '1 = 1', [], SHARDS);
    const over = t.db.characters.create({
      accountId: neoAccount,
      name: 'Overreach',
      districtId: 1,
      startingAbilities: [{ abilityId: 0x80770000, level: 6 }],
    });
    await expect(over).rejects.toBeInstanceOf(RequirementError);
    await expect(over).rejects.toMatchObject({ requirement: 'max_level' });
    expect(await counts('characters', '1 = 1', [], SHARDS)).toEqual(characters);
    expect(await count('global-primary', "SELECT COUNT(*) AS n FROM character_directory WHERE character_name = 'Overreach'")).toBe(0);
    await expect(
      t.db.characters.create({
        accountId: neoAccount,
        name: 'Twice',
        districtId: 1,
        startingAbilities: [
          { abilityId: 0x80770000, slots: [3, 4] },
          { abilityId: 0x80002c00, slot: 4 },
        ],
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      t.db.characters.create({
        accountId: neoAccount,
        name: 'Twice',
        districtId: 1,
        startingAbilities: [{ abilityId: 0x80770000, slots: [3, 3] }],
      }),
    ).rejects.toMatchObject({ fields: expect.arrayContaining(['startingAbilities.0.slots']) });
    // Within the maximum: fine.
    const ok = await t.db.characters.create({
      accountId: neoAccount,
      name: 'Capped',
      districtId: 1,
      startingAbilities: [{ abilityId: 0x80770000, level: 5 }],
    });
    expect(await t.db.abilities.list(ok.characterId)).toMatchObject([{ abilityId: 0x80770000, abilityLevel: 5 }]);
  });
});

describe('defineMany: reference data in batches', () => {
  it('items: ids in input order, the same rows on every node, one two-phase commit for the batch', async () => {
    const before = await twoPhase();
    const { templateIds } = await t.db.items.defineMany([
      { itemName: 'Long Coat', itemType: 'clothing', itemSubtype: 'coat', clientObjectId: 0x8a0f0012 | 0, rsiModel: 31, rsiColor: 2 },
      { itemName: 'Stim', itemType: 'consumable', stackSize: 20, statBonuses: { health: 50 } },
      { itemName: 'Shades', itemType: 'clothing', quality: 'rare', itemDescription: "Agent's" },
    ]);
    const after = await twoPhase();
    expect(after.prepares.map((n, i) => n - before.prepares[i]!)).toEqual([0, 1, 1]); // global is the last agent
    expect(after.decisions - before.decisions).toBe(1);
    expect(templateIds).toHaveLength(3);
    expect(templateIds[1]).toBeGreaterThan(templateIds[0]!);
    const select =
      'SELECT template_id, item_name, item_subtype, quality, stack_size, client_object_id, stat_bonuses, created_date FROM item_templates WHERE template_id IN (?) ORDER BY template_id';
    const global = await rows('global-primary', select, [templateIds]);
    expect(global.map((r) => [r.template_id, r.item_name])).toEqual([
      [templateIds[0], 'Long Coat'],
      [templateIds[1], 'Stim'],
      [templateIds[2], 'Shades'],
    ]);
    expect(global.map((r) => [r.quality, r.stack_size])).toEqual([
      ['common', 1], // left out: the column's default
      ['common', 20],
      ['rare', 1],
    ]);
    expect(await rows('alpha-primary', select, [templateIds])).toEqual(global);
    expect(await rows('beta-primary', select, [templateIds])).toEqual(global);
    expect(await t.db.items.byClientId(0x8a0f0012)).toMatchObject({ templateId: templateIds[0], itemName: 'Long Coat', rsiModel: 31 });
    expect(await t.db.items.defineMany([])).toEqual({ templateIds: [] });
  });

  it('items: a bad element (index 3) refuses the whole batch before any SQL; a taken client id names its element; nothing anywhere', async () => {
    const templates = await counts('item_templates');
    const before = await twoPhase();
    const good = (n: number) => ({ itemName: `Batch ${n}`, itemType: 'misc' as const });
    const bad = t.db.items.defineMany([good(0), good(1), good(2), { itemName: '', itemType: 'misc' }, good(4)]);
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ fields: ['items[3].itemName'] });
    await expect(
      t.db.items.defineMany([good(0), { ...good(1), clientObjectId: 77 }, { ...good(2), clientObjectId: 77 }]),
    ).rejects.toMatchObject({ fields: ['items[2].clientObjectId'] });
    await expect(t.db.items.defineMany(Array.from({ length: 1_001 }, (_, i) => good(i)))).rejects.toMatchObject({ fields: ['items'] });
    expect(await twoPhase()).toEqual(before); // nothing reached a server
    // Past validation: the third element's client id is taken; the first two are not kept either.
    const taken = t.db.items.defineMany([good(0), good(1), { ...good(2), clientObjectId: 0x8a0f0012 }]);
    await expect(taken).rejects.toBeInstanceOf(NameTakenError);
    await expect(taken).rejects.toMatchObject({ field: 'items[2].clientObjectId' });
    expect(await counts('item_templates')).toEqual(templates);
  });

  it('abilities: ids in input order, one two-phase commit, all or nothing', async () => {
    const before = await twoPhase();
    const { abilityIds } = await t.db.abilities.defineMany([
      { abilityId: 0x80aa0001, abilityName: 'Evade', maxAbilityLevel: 50 },
      { abilityId: -2136276991, abilityName: 'Signed form' }, // 0x80ab0001 as int32
      { abilityId: 0x80aa0003, abilityName: 'Code Blast', prerequisiteAbilities: [0x80aa0001], archetypeRequirement: 'hacker' },
    ]);
    const after = await twoPhase();
    expect(abilityIds).toEqual([0x80aa0001, 0x80ab0001, 0x80aa0003]);
    expect(after.prepares.map((n, i) => n - before.prepares[i]!)).toEqual([0, 1, 1]);
    expect(after.decisions - before.decisions).toBe(1);
    const select =
      'SELECT ability_id, ability_name, max_ability_level, archetype_requirement FROM ability_templates WHERE ability_id IN (?) ORDER BY ability_id';
    const global = await rows('global-primary', select, [abilityIds]);
    expect(global.map((r) => [r.ability_id, r.max_ability_level])).toEqual([
      [0x80aa0001, 50],
      [0x80aa0003, 127],
      [0x80ab0001, 127],
    ]);
    expect(await rows('alpha-primary', select, [abilityIds])).toEqual(global);
    expect(await rows('beta-primary', select, [abilityIds])).toEqual(global);

    const templates = await counts('ability_templates');
    const quiet = await twoPhase();
    const good = (n: number) => ({ abilityId: 0x80bb0000 + n, abilityName: `Batch ${n}` });
    const bad = t.db.abilities.defineMany([good(0), good(1), good(2), { ...good(3), maxAbilityLevel: 0 }]);
    await expect(bad).rejects.toMatchObject({ fields: ['abilities[3].maxAbilityLevel'] });
    await expect(t.db.abilities.defineMany([good(0), good(1), good(0)])).rejects.toMatchObject({ fields: ['abilities[2].abilityId'] });
    await expect(t.db.abilities.defineMany(Array.from({ length: 1_001 }, (_, i) => good(i)))).rejects.toMatchObject({
      fields: ['abilities'],
    });
    expect(await twoPhase()).toEqual(quiet);
    const taken = t.db.abilities.defineMany([good(0), good(1), { abilityId: 0x80aa0003, abilityName: 'Again' }]);
    await expect(taken).rejects.toBeInstanceOf(NameTakenError);
    await expect(taken).rejects.toMatchObject({ field: 'abilities[2].abilityId' });
    expect(await counts('ability_templates')).toEqual(templates);
  });

  it('a batch of 1,000 is still one two-phase commit', async () => {
    const before = await twoPhase();
    const started = performance.now();
    const { templateIds } = await t.db.items.defineMany(
      Array.from({ length: 1_000 }, (_, i) => ({
        itemName: `Import ${i}`,
        itemType: 'misc' as const,
        itemDescription: 'x'.repeat(2_000),
        clientObjectId: 0x90000000 + i,
      })),
    );
    const itemsMs = performance.now() - started;
    const abilitiesStarted = performance.now();
    await t.db.abilities.defineMany(Array.from({ length: 1_000 }, (_, i) => ({ abilityId: 0x90000000 + i, abilityName: `Import ${i}` })));
    const abilitiesMs = performance.now() - abilitiesStarted;
    console.log(`defineMany of 1,000: items ${itemsMs.toFixed(0)} ms, abilities ${abilitiesMs.toFixed(0)} ms (2 shards, one global replica)`);
    const after = await twoPhase();
    expect(after.prepares.map((n, i) => n - before.prepares[i]!)).toEqual([0, 2, 2]);
    expect(after.decisions - before.decisions).toBe(2);
    expect(new Set(templateIds).size).toBe(1_000);
    expect(await counts('item_templates', 'template_id IN (?)', [templateIds])).toEqual([1_000, 1_000, 1_000]);
    expect(await counts('ability_templates', 'ability_id >= 0x90000000 AND ability_id < 0x90000000 + 1000')).toEqual([1_000, 1_000, 1_000]);
  });
});
