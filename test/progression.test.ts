import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NameTakenError, NotFoundError, openCluster, RequirementError, ValidationError } from '../src/index.js';
import { levelCurve } from '../src/systems/shared/level-curve.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Experience and levels, attributes, vitals and ability uses (write-behind), faction standings,
// and a character that moves shards with all of it.
let t: TestCluster;
let accountId: number;
let n = 0;

beforeAll(async () => {
  // A long flush period: the test decides when buffers are written.
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: { writeBehind: { flushIntervalMs: 600_000 } },
  });
  accountId = (await t.db.accounts.register({ username: 'trinity', email: 'trinity@zion.example', password: 'red-pill-2' })).accountId;
});
afterAll(async () => t?.stop());

async function character(districtId = 1, archetype: 'hacker' | 'spy' | 'martial_artist' = 'hacker'): Promise<number> {
  return (await t.db.characters.create({ accountId, name: `Op${n++}`, archetype, gender: 'male', districtId })).characterId;
}

async function rows(node: string, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
  return result;
}

async function requirement(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RequirementError);
  return (error as RequirementError).requirement;
}

async function flushed(kind: string): Promise<number> {
  const metric = await t.db.metrics.getSingleMetric('mxo_write_behind_flushed_rows_total')!.get();
  return metric.values.filter((v) => v.labels.kind === kind).reduce((sum, v) => sum + v.value, 0);
}

describe('experience and levels', () => {
  it('levels up several times at once by the default curve and stops at the cap', async () => {
    const cid = await character();
    expect(await t.db.characters.gainExperience(cid, 99)).toMatchObject({ level: 1, experience: 99, levelsGained: 0 });
    expect(await t.db.characters.gainExperience(cid, 8_001)).toMatchObject({ level: 10, experience: 8_100, levelsGained: 9 });
    expect(await rows('alpha-primary', 'SELECT level, experience FROM characters WHERE character_id = ?', [cid])).toEqual([
      { level: 10, experience: 8_100 },
    ]);
    expect(await t.db.characters.gainExperience(cid, 10_000_000)).toMatchObject({ level: 50, levelsGained: 40 });
    expect(await t.db.characters.gainExperience(cid, 2_147_483_647)).toMatchObject({
      level: 50,
      experience: 2_147_483_647,
      levelsGained: 0,
    });
    await expect(t.db.characters.gainExperience(cid, 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.gainExperience(cid, 1.5)).rejects.toBeInstanceOf(ValidationError);
  });

  it('uses the curve and cap given to openCluster', async () => {
    const db = await openCluster(t.config, { levelCurve: levelCurve({ maxLevel: 5, base: 10, exponent: 1 }) });
    try {
      const cid = await character();
      expect(await db.characters.gainExperience(cid, 35)).toMatchObject({ level: 4, levelsGained: 3 });
      expect(await db.characters.gainExperience(cid, 1_000)).toMatchObject({ level: 5, levelsGained: 1 });
    } finally {
      await db.close();
    }
    expect(() => levelCurve({ maxLevel: 200 })).toThrow(RangeError);
  });
});

describe('attributes and vitals', () => {
  it('sets attributes, derives the maxima, clamps current vitals', async () => {
    const cid = await character();
    const a = await t.db.characters.setAttributes(cid, { vitality: 15, focus: 30, belief: 3 });
    expect(a).toEqual({
      vitality: 15,
      focus: 30,
      perception: 20,
      reason: 20,
      belief: 3,
      maxHealth: 150,
      maxInnerStrength: 240,
      health: 150,
      innerStrength: 160,
    });
    expect(
      await rows('alpha-primary', 'SELECT vitality, max_health, health, max_inner_strength FROM characters WHERE character_id = ?', [cid]),
    ).toEqual([{ vitality: 15, max_health: 150, health: 150, max_inner_strength: 240 }]);
    await expect(t.db.characters.setAttributes(cid, { vitality: 128 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setAttributes(cid, {})).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setAttributes(cid, { strength: 5 } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('buffers vitals (latest wins, one row per character per flush) and clamps them to the maxima', async () => {
    const cid = await character(4);
    const before = await flushed('vitals');
    for (let hp = 1; hp <= 50; hp++) await t.db.characters.updateVitals(cid, { health: hp });
    await t.db.characters.updateVitals(cid, { innerStrength: 10_000 });
    // Nothing written yet: the buffer holds it.
    expect(await rows('beta-primary', 'SELECT health FROM characters WHERE character_id = ?', [cid])).toEqual([{ health: 200 }]);
    await t.db.world.flush();
    expect(await flushed('vitals')).toBe(before + 1);
    expect(await rows('beta-primary', 'SELECT health, inner_strength FROM characters WHERE character_id = ?', [cid])).toEqual([
      { health: 50, inner_strength: 160 },
    ]);
    await t.db.characters.updateVitals(cid, { health: 999 });
    await t.db.world.flush();
    expect(await rows('beta-primary', 'SELECT health FROM characters WHERE character_id = ?', [cid])).toEqual([{ health: 200 }]);
    await expect(t.db.characters.updateVitals(cid, { health: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.updateVitals(cid, {})).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('abilities', () => {
  let hyperJump: number;
  let evade: number;
  let zionOnly: number;
  let spyOnly: number;
  beforeAll(async () => {
    ({ abilityId: hyperJump } = await t.db.abilities.defineAbility({ abilityId: 1001, abilityName: 'Hyper Jump' }));
    ({ abilityId: evade } = await t.db.abilities.defineAbility({
      abilityId: 1002,
      abilityName: 'Evade',
      levelRequirement: 3,
      prerequisiteAbilities: [1001],
    }));
    ({ abilityId: zionOnly } = await t.db.abilities.defineAbility({ abilityId: 1003, abilityName: 'Zion Resolve', factionRequirement: 'zion' }));
    ({ abilityId: spyOnly } = await t.db.abilities.defineAbility({ abilityId: 1004, abilityName: 'Sneak', archetypeRequirement: 'spy' }));
  });

  it('are defined on every node; a duplicate id is refused', async () => {
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      expect(await rows(node, 'SELECT ability_id, ability_name FROM ability_templates WHERE ability_id = 1002')).toEqual([
        { ability_id: 1002, ability_name: 'Evade' },
      ]);
    }
    await expect(t.db.abilities.defineAbility({ abilityId: 1001, abilityName: 'Again' })).rejects.toBeInstanceOf(NameTakenError);
  });

  it('learn checks each requirement and writes nothing on refusal', async () => {
    const cid = await character(1);
    expect(await requirement(t.db.abilities.learn(cid, evade))).toBe('level');
    await t.db.characters.gainExperience(cid, 400);
    expect(await requirement(t.db.abilities.learn(cid, evade))).toBe('prerequisite');
    expect(await requirement(t.db.abilities.learn(cid, zionOnly))).toBe('faction');
    expect(await requirement(t.db.abilities.learn(cid, spyOnly))).toBe('archetype');
    await expect(t.db.abilities.learn(cid, 4242)).rejects.toBeInstanceOf(NotFoundError);
    expect(await rows('alpha-primary', 'SELECT COUNT(*) AS c FROM character_abilities WHERE character_id = ?', [cid])).toEqual([{ c: 0 }]);
    expect(await t.db.abilities.learn(cid, hyperJump)).toMatchObject({
      abilityId: 1001,
      abilityName: 'Hyper Jump',
      abilityLevel: 1,
      timesUsed: 0,
    });
    expect(await requirement(t.db.abilities.learn(cid, hyperJump))).toBe('learned');
    await t.db.abilities.learn(cid, evade);
    expect((await t.db.abilities.list(cid)).map((a) => a.abilityId)).toEqual([1001, 1002]);
  });

  it('use: many uses coalesce into one row update per flush (times used, mastery, last used)', async () => {
    const cid = await character(4);
    await t.db.abilities.learn(cid, hyperJump);
    const before = await flushed('ability_use');
    const start = Date.now();
    await Promise.all(Array.from({ length: 300 }, () => t.db.abilities.use(cid, hyperJump)));
    await t.db.abilities.use(cid, evade); // not learned: matches no row
    expect(await rows('beta-primary', 'SELECT times_used FROM character_abilities WHERE character_id = ?', [cid])).toEqual([
      { times_used: 0 },
    ]);
    await t.db.world.flush();
    expect(await flushed('ability_use')).toBe(before + 2); // two keys, one statement
    const [row] = await rows(
      'beta-primary',
      'SELECT times_used, mastery_points, mastery_percentage, last_used FROM character_abilities WHERE character_id = ?',
      [cid],
    );
    expect(row).toMatchObject({ times_used: 300, mastery_points: 300, mastery_percentage: 30 });
    expect(Math.abs((row!.last_used as Date).getTime() - start)).toBeLessThan(5_000);
    await t.db.abilities.use(cid, hyperJump);
    await t.db.world.flush();
    expect((await t.db.abilities.list(cid))[0]).toMatchObject({ timesUsed: 301, masteryPoints: 301 });
    expect(await rows('beta-primary', 'SELECT COUNT(*) AS c FROM character_abilities WHERE character_id = ?', [cid])).toEqual([{ c: 1 }]);
  });
});

describe('faction standings', () => {
  it('adjusts points within -1000..1000 and derives the reputation level by one rule', async () => {
    const cid = await character(2);
    expect(await t.db.factions.adjustStanding(cid, 'zion', 25)).toEqual({
      faction: 'zion',
      standingPoints: 25,
      reputationLevel: 'neutral',
      change: 25,
    });
    expect(await t.db.factions.adjustStanding(cid, 'zion', 500)).toMatchObject({ standingPoints: 525, reputationLevel: 'ally' });
    expect(await t.db.factions.adjustStanding(cid, 'zion', 2000)).toMatchObject({
      standingPoints: 1000,
      reputationLevel: 'champion',
      change: 475,
    });
    expect(await t.db.factions.adjustStanding(cid, 'machine', -600)).toMatchObject({ standingPoints: -600, reputationLevel: 'hostile' });
    expect(
      await rows(
        'alpha-primary',
        'SELECT faction, standing_points, reputation_level FROM character_faction_standings WHERE character_id = ? ORDER BY 1',
        [cid],
      ),
    ).toEqual([
      { faction: 'zion', standing_points: 1000, reputation_level: 'champion' },
      { faction: 'machine', standing_points: -600, reputation_level: 'hostile' },
    ]);
    expect((await t.db.factions.standings(cid)).map((s) => [s.faction, s.standingPoints, s.reputationLevel])).toEqual([
      ['zion', 1000, 'champion'],
      ['machine', -600, 'hostile'],
      ['merovingian', 0, 'neutral'],
    ]);
    await expect(t.db.factions.adjustStanding(cid, 'niobe' as never, 5)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.factions.adjustStanding(cid, 'zion', 0)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('a character moving shards keeps its missions, abilities and standings', () => {
  it('same ids, same values on the new shard; nothing left on the old one', async () => {
    const cid = await character(1);
    const mission = await t.db.missions.defineTemplate({
      missionName: 'Exile',
      missionType: 'side',
      objectives: [
        { description: 'a', required: 2 },
        { description: 'b', required: 1 },
      ],
    });
    const done = await t.db.missions.defineTemplate({
      missionName: 'Done',
      missionType: 'side',
      objectives: [{ description: 'x' }],
      moneyReward: 5,
    });
    await t.db.missions.accept(cid, done);
    await t.db.missions.progress(cid, done, 0);
    await t.db.missions.complete(cid, done);
    await t.db.missions.accept(cid, mission);
    await t.db.missions.progress(cid, mission, 0, 1);
    await t.db.abilities.defineAbility({ abilityId: 2001, abilityName: 'Kung Fu' });
    await t.db.abilities.learn(cid, 2001);
    await t.db.abilities.use(cid, 2001);
    await t.db.factions.adjustStanding(cid, 'merovingian', 120);
    // Buffered uses land before the move copies the rows.
    const before = {
      missions: await t.db.missions.list(cid, { consistency: 'strong' }),
      history: await t.db.missions.history(cid, { consistency: 'strong' }),
      standings: await t.db.factions.standings(cid, { consistency: 'strong' }),
    };
    expect(await t.db.characters.moveToDistrict(cid, 5)).toMatchObject({ shard: 'beta', movedShards: true });
    expect(await t.db.missions.list(cid, { consistency: 'strong' })).toEqual(before.missions);
    expect((await t.db.missions.history(cid, { consistency: 'strong' })).map(({ historyId: _, ...h }) => h)).toEqual(
      before.history.map(({ historyId: _, ...h }) => h),
    );
    expect(await t.db.factions.standings(cid, { consistency: 'strong' })).toEqual(before.standings);
    expect(await t.db.abilities.list(cid, { consistency: 'strong' })).toMatchObject([{ abilityId: 2001, timesUsed: 1 }]);
    for (const table of [
      'character_missions',
      'mission_objective_progress',
      'mission_history',
      'character_abilities',
      'character_faction_standings',
    ]) {
      expect(await rows('alpha-primary', `SELECT COUNT(*) AS c FROM ${table} WHERE character_id = ?`, [cid])).toEqual([{ c: 0 }]);
    }
    // Play continues on the new shard.
    await t.db.missions.progress(cid, mission, 0, 1);
    await t.db.missions.progress(cid, mission, 1, 1);
    expect(await t.db.missions.complete(cid, mission)).toMatchObject({ alreadyCompleted: false });
    expect(
      await rows('beta-primary', 'SELECT mission_status FROM character_missions WHERE character_id = ? AND mission_id = ?', [cid, mission]),
    ).toEqual([{ mission_status: 'completed' }]);
  });
});

describe('buffered counters survive a failed flush', () => {
  it('uses that arrive while a flush fails are merged with the ones it put back; the next flush applies them once', async () => {
    const cid = await character(6);
    await t.db.abilities.defineAbility({ abilityId: 3001, abilityName: 'Dodge' });
    await t.db.abilities.learn(cid, 3001);
    for (let i = 0; i < 50; i++) await t.db.abilities.use(cid, 3001);
    // Hold the row: the flush waits its 1 s lock wait and fails.
    const holder = await t.sql('beta-primary');
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM character_abilities WHERE character_id = ? FOR UPDATE', [cid]);
    const failing = t.db.world.flush().then(
      () => 'flushed',
      () => 'failed',
    );
    // Wait until the flush's UPDATE is on the server, blocked by the held row.
    for (;;) {
      const [waiting] = await holder.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS c FROM information_schema.processlist WHERE info LIKE 'UPDATE character_abilities%'",
      );
      if (Number(waiting[0]!.c) > 0) break;
    }
    for (let i = 0; i < 25; i++) await t.db.abilities.use(cid, 3001);
    expect(await failing).toBe('failed');
    await holder.query('ROLLBACK');
    await t.db.world.flush();
    expect(await rows('beta-primary', 'SELECT times_used, mastery_points FROM character_abilities WHERE character_id = ?', [cid])).toEqual([
      { times_used: 75, mastery_points: 75 },
    ]);
  });
});
