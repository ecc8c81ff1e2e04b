import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, RequirementError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Missions from template to reward on real servers; every outcome read back with plain SQL.
let t: TestCluster;
let accountId: number;
let itemTemplate: number;
let n = 0;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  accountId = (await t.db.accounts.register({ username: 'neo', email: 'neo@zion.example', password: 'red-pill-1' })).accountId;
  itemTemplate = await t.db.items.defineTemplate({ itemName: 'Hardline Key', itemType: 'key_item' });
});
afterAll(async () => t?.stop());

async function character(districtId = 1): Promise<number> {
  return (await t.db.characters.create({ accountId, name: `Runner${n++}`, archetype: 'hacker', gender: 'female', districtId })).characterId;
}

async function rows(node: string, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
  return result;
}

async function refused(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RequirementError);
  expect((error as RequirementError).code).toBe('REQUIREMENT_NOT_MET');
  return (error as RequirementError).requirement;
}

const simple = (extra: Record<string, unknown> = {}) =>
  t.db.missions.defineTemplate({
    missionName: `Mission ${n++}`,
    missionType: 'side',
    objectives: [{ description: 'Do it', required: 1 }],
    ...extra,
  });

describe('mission templates', () => {
  it('are defined on global and every shard with the same id and content', async () => {
    const missionId = await t.db.missions.defineTemplate({
      missionName: 'Tutorial',
      missionType: 'story',
      objectives: [{ description: 'Talk to Morpheus', required: 1 }],
      experienceReward: 100,
      itemRewards: [{ templateId: itemTemplate, quantity: 2 }],
      factionStandingRewards: { zion: 10 },
      cooldownSec: 5400,
    });
    const sql =
      'SELECT mission_name, objectives, item_rewards, cooldown_period, cooldown_seconds FROM mission_templates WHERE mission_id = ?';
    const [g] = await rows('global-primary', sql, [missionId]);
    expect(g).toMatchObject({ mission_name: 'Tutorial', cooldown_period: 2, cooldown_seconds: 5400 });
    expect(await rows('alpha-primary', sql, [missionId])).toEqual([g]);
    expect(await rows('beta-primary', sql, [missionId])).toEqual([g]);
    expect((await t.db.missions.getTemplate(missionId)).objectives).toEqual([{ description: 'Talk to Morpheus', required: 1 }]);
  });

  it('refuses bad input and unknown references before writing anything', async () => {
    const before = await rows('global-primary', 'SELECT COUNT(*) AS c FROM mission_templates');
    await expect(
      t.db.missions.defineTemplate({ missionName: 'x'.repeat(129), missionType: 'story', objectives: [{ description: 'a' }] }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.missions.defineTemplate({ missionName: 'No goals', missionType: 'story', objectives: [] })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(simple({ itemRewards: [{ templateId: 999_999 }] })).rejects.toBeInstanceOf(NotFoundError);
    await expect(simple({ prerequisiteMissions: [999_999] })).rejects.toBeInstanceOf(NotFoundError);
    expect(await rows('global-primary', 'SELECT COUNT(*) AS c FROM mission_templates')).toEqual(before);
    expect(await rows('beta-primary', 'SELECT COUNT(*) AS c FROM mission_templates')).toEqual(before);
  });
});

describe('a mission from accept to reward', () => {
  it('accepts, progresses, and completes in one transaction that pays everything once', async () => {
    const cid = await character(1);
    const missionId = await t.db.missions.defineTemplate({
      missionName: 'Free Your Mind',
      missionType: 'story',
      objectives: [
        { description: 'Reach the hardline', required: 1 },
        { description: 'Defeat agents', required: 3 },
      ],
      experienceReward: 1_000, // level 1 -> 4 on the default curve (100, 400, 900)
      moneyReward: 250,
      itemRewards: [{ templateId: itemTemplate, quantity: 1 }],
      factionStandingRewards: { zion: 150, machine: -20 },
    });
    const accepted = await t.db.missions.accept(cid, missionId);
    expect(accepted).toMatchObject({ status: 'accepted', readyToComplete: false });
    expect(
      await rows(
        'alpha-primary',
        'SELECT objective_index, required_progress FROM mission_objective_progress WHERE character_id = ? ORDER BY 1',
        [cid],
      ),
    ).toEqual([
      { objective_index: 0, required_progress: 1 },
      { objective_index: 1, required_progress: 3 },
    ]);
    expect(await refused(t.db.missions.complete(cid, missionId))).toBe('objectives');
    await t.db.missions.progress(cid, missionId, 0, 1);
    expect((await t.db.missions.progress(cid, missionId, 1, 2)).readyToComplete).toBe(false);
    const last = await t.db.missions.progress(cid, missionId, 1, 5); // capped at 3
    expect(last.readyToComplete).toBe(true);
    expect(last.objectives.map((o) => o.currentProgress)).toEqual([1, 3]);

    const done = await t.db.missions.complete(cid, missionId);
    expect(done).toMatchObject({
      alreadyCompleted: false,
      experienceGained: 1_000,
      level: 4,
      levelsGained: 3,
      moneyGained: 250,
      money: 250,
    });
    expect(done.items).toHaveLength(1);
    const [c] = await rows('alpha-primary', 'SELECT level, experience, money FROM characters WHERE character_id = ?', [cid]);
    expect(c).toEqual({ level: 4, experience: 1_000, money: 250 });
    expect(
      await rows('alpha-primary', 'SELECT item_id, template_id, acquired_method FROM character_inventory WHERE character_id = ?', [cid]),
    ).toEqual([{ item_id: done.items[0]!.itemId, template_id: itemTemplate, acquired_method: 'quest' }]);
    expect(
      await rows(
        'alpha-primary',
        'SELECT transaction_type, money_amount, related_mission_id FROM transaction_history WHERE to_character_id = ?',
        [cid],
      ),
    ).toEqual([{ transaction_type: 'quest_reward', money_amount: 250, related_mission_id: missionId }]);
    expect(
      await rows(
        'alpha-primary',
        'SELECT faction, standing_points, reputation_level FROM character_faction_standings WHERE character_id = ? ORDER BY 1',
        [cid],
      ),
    ).toEqual([
      { faction: 'zion', standing_points: 150, reputation_level: 'friendly' },
      { faction: 'machine', standing_points: -20, reputation_level: 'neutral' },
    ]);
    expect(
      await rows(
        'alpha-primary',
        'SELECT missions_completed, story_missions_completed, money_earned FROM character_statistics WHERE character_id = ?',
        [cid],
      ),
    ).toEqual([{ missions_completed: 1, story_missions_completed: 1, money_earned: 250 }]);
    expect(await rows('alpha-primary', 'SELECT mission_status FROM character_missions WHERE character_id = ?', [cid])).toEqual([
      { mission_status: 'completed' },
    ]);
    const history = await t.db.missions.history(cid);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ missionId, completionStatus: 'completed', experienceGained: 1_000, moneyGained: 250 });
    expect((await t.db.missions.list(cid))[0]).toMatchObject({ missionId, status: 'completed', missionName: 'Free Your Mind' });
  });

  it('never pays twice: a retried complete and concurrent completes pay once', async () => {
    const cid = await character(4);
    const missionId = await simple({
      experienceReward: 50,
      moneyReward: 100,
      itemRewards: [{ templateId: itemTemplate }],
      factionStandingRewards: { zion: 5 },
    });
    await t.db.missions.accept(cid, missionId);
    await t.db.missions.progress(cid, missionId, 0);
    const results = await Promise.all(Array.from({ length: 6 }, () => t.db.missions.complete(cid, missionId)));
    expect(results.filter((r) => !r.alreadyCompleted)).toHaveLength(1);
    const retry = await t.db.missions.complete(cid, missionId);
    expect(retry).toMatchObject({ alreadyCompleted: true, moneyGained: 100, money: 100, experienceGained: 50 });
    expect(retry.items).toEqual(results.find((r) => !r.alreadyCompleted)!.items);
    const count = async (sql: string) => Number((await rows('beta-primary', sql, [cid]))[0]!.c);
    expect(await count('SELECT money AS c FROM characters WHERE character_id = ?')).toBe(100);
    expect(await count('SELECT experience AS c FROM characters WHERE character_id = ?')).toBe(50);
    expect(await count('SELECT COUNT(*) AS c FROM character_inventory WHERE character_id = ?')).toBe(1);
    expect(await count('SELECT COUNT(*) AS c FROM transaction_history WHERE to_character_id = ?')).toBe(1);
    expect(await count('SELECT COUNT(*) AS c FROM mission_history WHERE character_id = ?')).toBe(1);
    expect(await count('SELECT standing_points AS c FROM character_faction_standings WHERE character_id = ?')).toBe(5);
    expect(await count('SELECT missions_completed AS c FROM character_statistics WHERE character_id = ?')).toBe(1);
  });

  it('loses no increment when many progress calls hit one objective at once', async () => {
    const cid = await character(2);
    const missionId = await simple({ objectives: [{ description: 'Collect', required: 100 }] });
    await t.db.missions.accept(cid, missionId);
    await Promise.all(Array.from({ length: 40 }, () => t.db.missions.progress(cid, missionId, 0, 1)));
    expect(await rows('alpha-primary', 'SELECT current_progress FROM mission_objective_progress WHERE character_id = ?', [cid])).toEqual([
      { current_progress: 40 },
    ]);
    expect(
      await rows('alpha-primary', 'SELECT mission_status, progress_data FROM character_missions WHERE character_id = ?', [cid]),
    ).toEqual([{ mission_status: 'in_progress', progress_data: [40] }]);
  });

  it('abandons and fails active missions with a history row; a failure counts', async () => {
    const cid = await character(5);
    const a = await simple();
    const f = await simple();
    await t.db.missions.accept(cid, a);
    await t.db.missions.accept(cid, f);
    await t.db.missions.abandon(cid, a);
    await t.db.missions.fail(cid, f);
    expect(await refused(t.db.missions.fail(cid, f))).toBe('status');
    expect(await refused(t.db.missions.progress(cid, a, 0))).toBe('status');
    expect(
      await rows('beta-primary', 'SELECT mission_id, mission_status FROM character_missions WHERE character_id = ? ORDER BY 1', [cid]),
    ).toEqual([
      { mission_id: a, mission_status: 'abandoned' },
      { mission_id: f, mission_status: 'failed' },
    ]);
    expect((await t.db.missions.history(cid)).map((h) => [h.missionId, h.completionStatus]).sort()).toEqual(
      [
        [a, 'abandoned'],
        [f, 'failed'],
      ].sort(),
    );
    expect(await rows('beta-primary', 'SELECT missions_failed FROM character_statistics WHERE character_id = ?', [cid])).toEqual([
      { missions_failed: 1 },
    ]);
    await t.db.missions.accept(cid, a); // an abandoned mission can be taken again
    expect((await t.db.missions.list(cid, { status: 'accepted' })).map((m) => m.missionId)).toEqual([a]);
  });
});

describe('requirements of accept: each refusal names its rule and writes nothing', () => {
  async function nothingWritten(cid: number): Promise<void> {
    expect(await rows('alpha-primary', 'SELECT COUNT(*) AS c FROM character_missions WHERE character_id = ?', [cid])).toEqual([{ c: 0 }]);
    expect(await rows('alpha-primary', 'SELECT COUNT(*) AS c FROM mission_objective_progress WHERE character_id = ?', [cid])).toEqual([
      { c: 0 },
    ]);
  }

  it('level', async () => {
    const cid = await character(1);
    const mid = await simple({ levelRequirement: 5 });
    expect(await refused(t.db.missions.accept(cid, mid))).toBe('level');
    await nothingWritten(cid);
    expect(await t.db.characters.gainExperience(cid, 1_600)).toMatchObject({ level: 5, levelsGained: 4 });
    await t.db.missions.accept(cid, mid);
  });

  it('faction', async () => {
    const cid = await character(1);
    const mid = await simple({ factionRequirement: 'zion' });
    expect(await refused(t.db.missions.accept(cid, mid))).toBe('faction');
    await nothingWritten(cid);
    await (await t.sql('alpha-primary')).query("UPDATE characters SET faction = 'zion' WHERE character_id = ?", [cid]);
    await t.db.missions.accept(cid, mid);
  });

  it('prerequisite', async () => {
    const cid = await character(1);
    const first = await simple();
    const second = await simple({ prerequisiteMissions: [first] });
    expect(await refused(t.db.missions.accept(cid, second))).toBe('prerequisite');
    await nothingWritten(cid);
    await t.db.missions.accept(cid, first);
    expect(await refused(t.db.missions.accept(cid, second))).toBe('prerequisite'); // accepted is not completed
    await t.db.missions.progress(cid, first, 0);
    await t.db.missions.complete(cid, first);
    await t.db.missions.accept(cid, second);
  });

  it('required item', async () => {
    const cid = await character(1);
    const mid = await simple({ requiredItems: [{ templateId: itemTemplate, quantity: 2 }] });
    await t.db.inventory.grant(cid, { templateId: itemTemplate, quantity: 1 });
    expect(await refused(t.db.missions.accept(cid, mid))).toBe('item');
    await nothingWritten(cid);
    await t.db.inventory.grant(cid, { templateId: itemTemplate, quantity: 1 });
    await t.db.missions.accept(cid, mid);
  });

  it('repeat, cooldown, already active, inactive', async () => {
    const cid = await character(1);
    const once = await simple();
    const daily = await simple({ repeatable: true, cooldownSec: 3_600 });
    const again = await simple({ repeatable: true, cooldownSec: 0, moneyReward: 10 });
    const off = await simple({ isActive: false });
    expect(await refused(t.db.missions.accept(cid, off))).toBe('active');
    await nothingWritten(cid);
    for (const mid of [once, daily, again]) {
      await t.db.missions.accept(cid, mid);
      await t.db.missions.progress(cid, mid, 0);
      await t.db.missions.complete(cid, mid);
    }
    expect(await refused(t.db.missions.accept(cid, once))).toBe('repeatable');
    expect(await refused(t.db.missions.accept(cid, daily))).toBe('cooldown');
    // The cooldown runs from the last completion: move it an hour back and the mission is open again.
    await (
      await t.sql('alpha-primary')
    ).query(
      'UPDATE mission_history SET completion_date = completion_date - INTERVAL 3601 SECOND WHERE character_id = ? AND mission_id = ?',
      [cid, daily],
    );
    await t.db.missions.accept(cid, daily);
    expect(await refused(t.db.missions.accept(cid, daily))).toBe('status');
    // A repeat starts from zero and pays again.
    const repeat = await t.db.missions.accept(cid, again);
    expect(repeat.objectives.map((o) => o.currentProgress)).toEqual([0]);
    await t.db.missions.progress(cid, again, 0);
    expect(await t.db.missions.complete(cid, again)).toMatchObject({ alreadyCompleted: false, money: 20 });
    expect(
      await rows('alpha-primary', 'SELECT COUNT(*) AS c FROM mission_history WHERE character_id = ? AND mission_id = ?', [cid, again]),
    ).toEqual([{ c: 2 }]);
  });

  it('unknown mission and bad input', async () => {
    const cid = await character(1);
    await expect(t.db.missions.accept(cid, 999_999)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.missions.accept(cid, -1)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.missions.progress(cid, 1, 0, 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.missions.complete(cid, 999_999)).rejects.toBeInstanceOf(NotFoundError);
  });
});
