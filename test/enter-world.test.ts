import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Entering the world (characters.load) and the seed's two shard views as calls.
let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

describe('characters.load', () => {
  it('returns everything the single reads return, in one statement per node', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'neo', email: 'neo@zion.example', password: 'there-is-no-spoon' });
    const { characterId: me, shard } = await t.db.characters.create({
      accountId,
      name: 'Neo',
      archetype: 'hacker',
      gender: 'male',
      districtId: 1,
    });
    const friend = (await t.db.characters.create({ accountId, name: 'Trinity', archetype: 'spy', gender: 'female', districtId: 4 }))
      .characterId;
    await (await t.sql(`${shard}-primary`)).query("UPDATE characters SET faction = 'zion', cq_points = 12 WHERE character_id = ?", [me]);

    await t.db.characters.adjustMoney(me, 250, 'quest_reward');
    const glasses = await t.db.items.defineTemplate({
      itemName: 'Shades',
      itemType: 'clothing',
      itemSubtype: 'sunglasses',
      quality: 'rare',
      itemLevel: 5,
    });
    const stim = await t.db.items.defineTemplate({ itemName: 'Stim', itemType: 'consumable', stackSize: 10 });
    const worn = await t.db.inventory.grant(me, { templateId: glasses });
    await t.db.inventory.grant(me, { templateId: stim, quantity: 3 });
    await t.db.inventory.equip(me, worn.itemId, 'clothing_face');
    const { abilityId: ability } = await t.db.abilities.defineAbility({ abilityId: 2001, abilityName: 'Bullet Time' });
    await t.db.abilities.learn(me, ability);
    await t.db.factions.adjustStanding(me, 'zion', 40);
    // Two slots (one ability may sit in both) and two of the seven reputations.
    await t.db.abilities.setLoadout(me, [
      { slot: 3, abilityId: ability, loaded: true },
      { slot: 1, abilityId: ability, loaded: false },
    ]);
    await t.db.factions.adjustReputation(me, 'niobe', 25);
    await t.db.factions.adjustReputation(me, 'epn', -7);
    const missionId = await t.db.missions.defineTemplate({
      missionName: 'The Oracle',
      missionType: 'story',
      objectives: [{ description: 'Find the door' }, { description: 'Take a cookie' }],
    });
    await t.db.missions.accept(me, missionId);
    await t.db.missions.progress(me, missionId, 0);
    await t.db.social.setRelationship({ characterId: me, targetCharacterId: friend, type: 'friend' });
    await t.db.social.setRelationship({ characterId: friend, targetCharacterId: me, type: 'friend' });
    const { crewId } = await t.db.social.createCrew({ captainId: me, crewName: 'Nebuchadnezzar' });
    const { organizationId } = await t.db.organizations.create({ organizationName: 'Zion Guard', faction: 'zion', leaderId: me });

    // The placement refresh (every 5 s, on global) must not land between the two counts.
    t.db.admin.stop();
    const statementsBefore = await statements();
    const loaded = await t.db.characters.load(me, { consistency: 'strong' });
    const statementsAfter = await statements();
    // One statement on the character's shard and one on global (the directory route was cached).
    expect(statementsAfter.shard - statementsBefore.shard).toBe(1);
    expect(statementsAfter.global - statementsBefore.global).toBe(1);

    const strong = { consistency: 'strong' } as const;
    expect(loaded.character).toEqual(await t.db.characters.get(me, strong));
    expect(loaded.inventory).toEqual(await t.db.inventory.list(me, strong));
    expect(loaded.abilities).toEqual(await t.db.abilities.list(me, strong));
    expect(loaded.standings).toEqual(await t.db.factions.standings(me, strong));
    expect(loaded.activeMissions).toEqual(await t.db.missions.list(me, strong));
    expect(loaded.relationships).toEqual(await t.db.social.listRelationships(me, strong));
    expect(loaded.loadout).toEqual(await t.db.abilities.loadout(me, strong));
    expect(loaded.loadout.map((l) => l.slot)).toEqual([1, 3]);
    expect(loaded.reputations).toEqual(await t.db.factions.reputations(me, strong));
    expect([loaded.reputations.reputations.niobe, loaded.reputations.reputations.epn, loaded.reputations.cqPoints]).toEqual([25, -7, 12]);
    expect(loaded.equipment.filter((e) => e.itemId !== null)).toEqual([{ slotName: 'clothing_face', itemId: worn.itemId }]);
    expect(loaded.statistics).toMatchObject({ totalKills: 0, moneyEarned: expect.any(Number) });
    expect(loaded.pvp).toMatchObject({ pvpRating: 1000, pvpRank: 'Unranked' });
    expect(loaded.crew).toEqual({ crewId, crewName: 'Nebuchadnezzar', captainId: me, memberCount: 1, position: 'captain' });
    expect(loaded.organization).toMatchObject({
      organizationId,
      organizationName: 'Zion Guard',
      faction: 'zion',
      leaderId: me,
      rankName: 'Leader',
    });
    expect(loaded.activeMissions[0]!.objectives.map((o) => [o.description, o.isCompleted])).toEqual([
      ['Find the door', true],
      ['Take a cookie', false],
    ]);

    // A character without any of it loads with empty parts.
    const plain = await t.db.characters.load(friend, strong);
    expect(plain).toMatchObject({ inventory: [], abilities: [], activeMissions: [], crew: null, organization: null });
    await expect(t.db.characters.load(987_654)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.characters.load(-1)).rejects.toBeInstanceOf(ValidationError);

    // players.equipmentSummary is the seed's view for one character.
    const summary = await t.db.players.equipmentSummary(me, strong);
    expect(summary.slots.filter((s) => s.itemName !== null)).toEqual([
      { slotName: 'clothing_face', itemName: 'Shades', quality: 'rare', itemLevel: 5, durability: 100 },
    ]);
    expect((await t.db.players.equipmentSummary(friend, strong)).slots).toEqual([]);
  });
});

describe('world.districtActivity', () => {
  it("returns the seed's view for every configured district, each from its owning shard", async () => {
    const { accountId } = await t.db.accounts.register({ username: 'tank-op', email: 'tank-op@zion.example', password: 'operator-123' });
    for (const [name, district] of [
      ['Online_One', 2],
      ['Online_Two', 2],
      ['Online_Three', 6],
      ['Offline', 6],
    ] as const) {
      const { characterId } = await t.db.characters.create({ accountId, name, archetype: 'spy', gender: 'male', districtId: district });
      if (name !== 'Offline') await t.db.characters.setOnline(characterId, true);
    }
    const activity = await t.db.world.districtActivity({ consistency: 'strong' });
    const [districts] = await (
      await t.sql('global-primary')
    ).query<RowDataPacket[]>('SELECT district_id FROM districts ORDER BY district_id');
    const configured = [1, 2, 3, 4, 5, 6].filter((d) => districts.some((r) => Number(r.district_id) === d));
    expect(activity.map((a) => a.districtId)).toEqual(configured);
    const byId = new Map(activity.map((a) => [a.districtId, a]));
    expect(byId.get(2)).toMatchObject({ currentPlayers: 2, shard: 'alpha' });
    expect(byId.get(6)).toMatchObject({ currentPlayers: 1, shard: 'beta' });
    expect(byId.get(2)!.occupancyPercentage).toBeCloseTo((2 / byId.get(2)!.maxPlayers) * 100, 3);
  });
});

/** Statements executed so far on alpha and global (Com_stmt_execute + Com_select). */
async function statements(): Promise<{ shard: number; global: number }> {
  const count = async (node: string) => {
    const [rows] = await (
      await t.sql(node)
    ).query<RowDataPacket[]>(
      "SELECT SUM(VARIABLE_VALUE) AS n FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('COM_STMT_EXECUTE')",
    );
    return Number(rows[0]!.n);
  };
  return { shard: await count('alpha-primary'), global: await count('global-primary') };
}
