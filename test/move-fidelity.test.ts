/**
 * A full-fidelity cross-shard move: a character with rows in every table that moves with it
 * (src/schema/character-rows.ts) is moved alpha -> beta -> alpha, and after each move its rows on
 * the new shard equal the originals column for column (shard-local surrogate ids aside), and
 * nothing of it is left on the old shard. Rows are written with direct SQL, with non-default
 * values everywhere (JSON, floats, timestamps, text beyond ASCII).
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { rowsOn } from './support/twopc-invariants.js';

let t: TestCluster;

/** Each moving table, how to select one character's rows, and its shard-local surrogate id. */
const TABLES: Array<{ table: string; where: string; surrogate?: string; ignore?: string[] }> = [
  // district_id is what a move changes.
  { table: 'characters', where: 'character_id = ?', ignore: ['district_id'] },
  { table: 'character_statistics', where: 'character_id = ?' },
  { table: 'pvp_statistics', where: 'character_id = ?' },
  { table: 'character_abilities', where: 'character_id = ?' },
  { table: 'character_faction_standings', where: 'character_id = ?' },
  { table: 'character_inventory', where: 'character_id = ?' },
  {
    table: 'item_modifications',
    where: 'item_id IN (SELECT item_id FROM character_inventory WHERE character_id = ?)',
    surrogate: 'modification_id',
  },
  { table: 'character_equipment', where: 'character_id = ?' },
  { table: 'character_missions', where: 'character_id = ?' },
  { table: 'mission_objective_progress', where: 'character_id = ?' },
  { table: 'mission_history', where: 'character_id = ?', surrogate: 'history_id' },
  { table: 'character_relationships', where: 'character_id = ?' },
  { table: 'character_known_hardlines', where: 'character_id = ?' },
  { table: 'character_bookmarks', where: 'character_id = ?' },
];

type Rows = Record<string, string[]>;

/** Every moving row of `id` on `node`, as sorted JSON lines per table, surrogates dropped. */
async function rowsOf(node: string, id: number): Promise<Rows> {
  const out: Rows = {};
  for (const { table, where, surrogate, ignore = [] } of TABLES) {
    const rows = await rowsOn<RowDataPacket>(t.sandbox, node, `SELECT * FROM ${table} WHERE ${where}`, [id]);
    out[table] = rows
      .map((r) => {
        const copy: Record<string, unknown> = { ...r };
        for (const c of [surrogate, ...ignore]) if (c) delete copy[c];
        return JSON.stringify(copy);
      })
      .sort();
  }
  return out;
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

describe('cross-shard move, full fidelity', () => {
  it('moves every row of every moving table there and back, column for column', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'switch', email: 'switch@zion.example', password: 'white-coat-1' });
    const me = (await t.db.characters.create({ accountId, name: 'Switch', archetype: 'hacker', gender: 'female', districtId: 1 }))
      .characterId;
    const friend = (await t.db.characters.create({ accountId, name: 'Apoc', archetype: 'spy', gender: 'male', districtId: 2 })).characterId;
    await t.db.characters.adjustMoney(me, 4321, 'admin_grant');
    const template = await t.db.items.defineTemplate({ itemName: 'Fidelity Coat', itemType: 'misc', isTradeable: true });
    const coat = (await t.db.inventory.grant(me, { templateId: template })).itemId;
    const gun = (await t.db.inventory.grant(me, { templateId: template })).itemId;
    const missionId = await t.db.missions.defineTemplate({
      missionName: 'Fidelity',
      missionType: 'side',
      objectives: [{ description: 'Hold on', required: 5 }],
    });
    const sql = (q: string, p: unknown[]) => rowsOn(t.sandbox, 'alpha-primary', q, p);

    await sql('UPDATE characters SET experience = 98765, position_x = 1.25, position_y = -7.5, position_z = 3.75 WHERE character_id = ?', [
      me,
    ]);
    await sql(
      'UPDATE character_statistics SET total_kills = 11, npc_kills = 9, money_earned = 123456789012, abilities_used = \'{"karate": 1500}\' WHERE character_id = ?',
      [me],
    );
    await sql("UPDATE pvp_statistics SET pvp_wins = 4, pvp_losses = 2, pvp_rating = 1234, pvp_rank = 'Operative' WHERE character_id = ?", [
      me,
    ]);
    await sql(
      "INSERT INTO character_abilities (character_id, ability_id, ability_level, mastery_points, mastery_percentage, times_used, last_used) VALUES (?, 7, 3, 250, 12.5, 40, '2025-01-02 03:04:05'), (?, 9, 1, 0, 0, 0, NULL)",
      [me, me],
    );
    await sql(
      "INSERT INTO character_faction_standings (character_id, faction, standing_points, reputation_level, last_updated) VALUES (?, 'zion', 250, 'friendly', '2025-02-03 04:05:06'), (?, 'machine', -300, 'unfriendly', '2025-02-04 05:06:07') ON DUPLICATE KEY UPDATE standing_points = VALUES(standing_points), reputation_level = VALUES(reputation_level), last_updated = VALUES(last_updated)",
      [me, me],
    );
    await sql(
      "UPDATE character_inventory SET quantity = 3, durability = 55.5, custom_properties = '{\"glow\": \"green\"}', slot_position = 4, acquired_date = '2025-03-04 05:06:07', acquired_method = 'quest', acquired_from = 'npc:oracle', item_flags = 6 WHERE item_id = ?",
      [coat],
    );
    await sql("UPDATE character_inventory SET container_type = 'equipped' WHERE item_id = ?", [gun]);
    await sql("INSERT INTO character_equipment (character_id, slot_name, item_id) VALUES (?, 'weapon_primary', ?)", [me, gun]);
    await sql(
      "INSERT INTO item_modifications (item_id, modification_type, modification_data, applied_date, applied_by, cost_paid) VALUES (?, 'enhancement', '{\"damage\": 3}', '2025-04-05 06:07:08', ?, 150), (?, 'repair', '{\"to\": 100}', '2025-04-06 06:07:08', NULL, 20)",
      [coat, me, coat],
    );
    await sql(
      "INSERT INTO character_missions (character_id, mission_id, mission_status, progress_data, accepted_date, custom_objectives) VALUES (?, ?, 'in_progress', '{\"step\": 2}', '2025-05-06 07:08:09', '[\"hold\"]')",
      [me, missionId],
    );
    await sql(
      'INSERT INTO mission_objective_progress (character_id, mission_id, objective_index, current_progress, required_progress, progress_data) VALUES (?, ?, 0, 2, 5, \'{"seen": [1, 2]}\')',
      [me, missionId],
    );
    await sql(
      "INSERT INTO mission_history (character_id, mission_id, completion_status, completion_date, completion_time, experience_gained, money_gained, items_received, completion_method, team_members) VALUES (?, ?, 'completed', '2025-06-07 08:09:10', 321, 50, 75, '[1, 2]', 'stealth', '[\"Apoc\"]'), (?, ?, 'failed', '2025-06-08 08:09:10', NULL, 0, 0, NULL, NULL, NULL)",
      [me, missionId, me, missionId],
    );
    await sql(
      "INSERT INTO character_relationships (character_id, target_character_id, relationship_type, relationship_level, notes, is_mutual, created_date, last_interaction, interaction_count) VALUES (?, ?, 'friend', 4, 'from the Nebuchadnezzar, ünïcödé 🙂', TRUE, '2025-07-08 09:10:11', '2025-07-09 09:10:11', 17)",
      [me, friend],
    );
    await sql(
      "INSERT INTO character_known_hardlines (character_id, district_id, hardline_number, discovered_at) VALUES (?, 1, 4294967295, '2025-08-09 10:11:12'), (?, 5, 3, '2025-08-10 10:11:12')",
      [me, me],
    );
    await sql(
      "INSERT INTO character_bookmarks (character_id, bookmark_name, district_id, position_x, position_y, position_z, yaw, updated_at) VALUES (?, 'home', 2, 17020.123456789, -0.5, 2693.25, 139, '2025-09-10 11:12:13')",
      [me],
    );

    const original = await rowsOf('alpha-primary', me);
    // Every table really has rows (a table left empty would compare equal trivially).
    expect(
      Object.entries(original)
        .filter(([, rows]) => rows.length === 0)
        .map(([table]) => table),
    ).toEqual([]);
    const empty = Object.fromEntries(TABLES.map(({ table }) => [table, []]));

    expect(await t.db.characters.moveToDistrict(me, 4)).toMatchObject({ shard: 'beta', movedShards: true });
    expect(await rowsOf('beta-primary', me)).toEqual(original);
    expect(await rowsOf('alpha-primary', me)).toEqual(empty);

    expect(await t.db.characters.moveToDistrict(me, 1)).toMatchObject({ shard: 'alpha', movedShards: true });
    expect(await rowsOf('alpha-primary', me)).toEqual(original);
    expect(await rowsOf('beta-primary', me)).toEqual(empty);
    const [{ district_id }] = await rowsOn<{ district_id: number }>(
      t.sandbox,
      'alpha-primary',
      'SELECT district_id FROM characters WHERE character_id = ?',
      [me],
    );
    expect(Number(district_id)).toBe(1);
  });
});
