import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, RequirementError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let me: number;
let far: number;
const HYPER_JUMP = 0x80000012; // high bit set: negative as a signed 32-bit int
const CODE_BLAST = 0x8000ff01;
const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const { accountId } = await t.db.accounts.register({ username: 'tank', email: 'tank@zion.example', password: 'operator-tank' });
  me = (await t.db.characters.create({ accountId, name: 'Tank', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
  far = (await t.db.characters.create({ accountId, name: 'Dozer', archetype: 'hacker', gender: 'male', districtId: 4 })).characterId;
  await t.db.abilities.defineAbility({ abilityId: HYPER_JUMP | 0, abilityName: 'Hyper Jump', maxAbilityLevel: 5 });
  await t.db.abilities.defineAbility({ abilityId: CODE_BLAST, abilityName: 'Code Blast', prerequisiteAbilities: [HYPER_JUMP | 0] });
}, 120_000);
afterAll(async () => t?.stop());

describe('ability ids', () => {
  it('are stored unsigned (high bit set) on every node and accepted in either form', async () => {
    expect(HYPER_JUMP | 0).toBeLessThan(0);
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      const got = await rows(node, 'SELECT ability_id FROM ability_templates WHERE ability_name = ?', ['Hyper Jump']);
      expect(
        got.map((r) => Number(r.ability_id)),
        node,
      ).toEqual([HYPER_JUMP]);
    }
    const learned = await t.db.abilities.learn(me, HYPER_JUMP | 0);
    expect(learned.abilityId).toBe(HYPER_JUMP);
    expect((await t.db.abilities.learn(me, CODE_BLAST)).abilityName).toBe('Code Blast');
    const [row] = await rows('alpha-primary', 'SELECT ability_id FROM character_abilities WHERE character_id = ? ORDER BY ability_id', [
      me,
    ]);
    expect(Number(row!.ability_id)).toBe(HYPER_JUMP);
    await expect(t.db.abilities.learn(me, 0x1_0000_0000)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.abilities.learn(me, 0)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('loadout', () => {
  it('one ability may sit in two slots; the loadout is replaced as a whole', async () => {
    const slots = [
      { slot: 0, abilityId: HYPER_JUMP, loaded: true },
      { slot: 7, abilityId: HYPER_JUMP | 0, loaded: false },
      { slot: 3, abilityId: CODE_BLAST, loaded: true },
    ];
    expect(await t.db.abilities.setLoadout(me, slots)).toEqual([
      { slot: 0, abilityId: HYPER_JUMP, loaded: true },
      { slot: 3, abilityId: CODE_BLAST, loaded: true },
      { slot: 7, abilityId: HYPER_JUMP, loaded: false },
    ]);
    expect(await t.db.abilities.loadout(me)).toHaveLength(3);
    expect(await t.db.abilities.setLoadout(me, [{ slot: 1, abilityId: CODE_BLAST, loaded: false }])).toEqual([
      { slot: 1, abilityId: CODE_BLAST, loaded: false },
    ]);
    const stored = await rows('alpha-primary', 'SELECT slot_number, ability_id FROM character_ability_slots WHERE character_id = ?', [me]);
    expect(stored.map((r) => [Number(r.slot_number), Number(r.ability_id)])).toEqual([[1, CODE_BLAST]]);
  });

  it('refuses a repeated slot and an unlearned ability, writing nothing', async () => {
    await t.db.abilities.setLoadout(me, [{ slot: 2, abilityId: HYPER_JUMP, loaded: true }]);
    await expect(
      t.db.abilities.setLoadout(me, [
        { slot: 4, abilityId: HYPER_JUMP, loaded: true },
        { slot: 4, abilityId: CODE_BLAST, loaded: true },
      ]),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      t.db.abilities.setLoadout(me, [
        { slot: 4, abilityId: HYPER_JUMP, loaded: true },
        { slot: 5, abilityId: 0x80000999, loaded: true },
      ]),
    ).rejects.toBeInstanceOf(RequirementError);
    expect(await t.db.abilities.loadout(me)).toEqual([{ slot: 2, abilityId: HYPER_JUMP, loaded: true }]);
  });

  it('moves with the character to another shard', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'mouse', email: 'mouse@zion.example', password: 'woman-in-red' });
    const mouse = (await t.db.characters.create({ accountId, name: 'Mouse', archetype: 'hacker', gender: 'male', districtId: 1 }))
      .characterId;
    await t.db.abilities.learn(mouse, HYPER_JUMP);
    await t.db.abilities.setLoadout(mouse, [
      { slot: 0, abilityId: HYPER_JUMP, loaded: true },
      { slot: 1, abilityId: HYPER_JUMP, loaded: false },
    ]);
    await t.db.factions.adjustReputation(mouse, 'epn', 12);
    await t.db.characters.moveToDistrict(mouse, 4);
    expect(await t.db.abilities.loadout(mouse)).toHaveLength(2);
    expect((await t.db.factions.reputations(mouse)).reputations.epn).toBe(12);
    expect((await rows('beta-primary', 'SELECT COUNT(*) AS n FROM character_ability_slots WHERE character_id = ?', [mouse]))[0]!.n).toBe(2);
    expect((await rows('alpha-primary', 'SELECT COUNT(*) AS n FROM character_ability_slots WHERE character_id = ?', [mouse]))[0]!.n).toBe(
      0,
    );
  });
});

describe('upgrade', () => {
  it('raises the level up to the template maximum; unknown abilities are NotFoundError', async () => {
    expect((await t.db.abilities.upgrade(me, HYPER_JUMP | 0, 2)).abilityLevel).toBe(3);
    await expect(t.db.abilities.upgrade(me, HYPER_JUMP, 3)).rejects.toBeInstanceOf(RequirementError);
    expect((await t.db.abilities.upgrade(me, HYPER_JUMP, 2)).abilityLevel).toBe(5);
    await expect(t.db.abilities.upgrade(far, HYPER_JUMP, 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.abilities.upgrade(me, HYPER_JUMP, 0)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('reputations', () => {
  it('the seven, 0 until changed, with the CQ points', async () => {
    expect(await t.db.factions.reputations(far)).toEqual({
      reputations: { zion_military: 0, machines: 0, merovingian: 0, niobe: 0, epn: 0, cypherites: 0, gm: 0 },
      cqPoints: 0,
    });
    expect(await t.db.factions.adjustReputation(far, 'niobe', 40)).toEqual({ points: 40 });
    expect(await t.db.factions.adjustReputation(far, 'niobe', -15)).toEqual({ points: 25 });
    await t.db.factions.adjustReputation(far, 'cypherites', -7);
    await t.db.characters.setProfile(far, { cqPoints: 9 });
    const got = await t.db.factions.reputations(far);
    expect(got).toEqual({
      reputations: { zion_military: 0, machines: 0, merovingian: 0, niobe: 25, epn: 0, cypherites: -7, gm: 0 },
      cqPoints: 9,
    });
    await expect(t.db.factions.adjustReputation(far, 'zion' as never, 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.factions.reputations(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });
});
