import type { LevelCurve } from '../shared/level-curve.js';
import type { MissionTemplate } from '../shared/mission-template.js';
import type { Faction, ReputationLevel } from '../shared/reputation.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { grantExperience } from '../shared/experience.js';
import { jsonValue } from '../shared/mission-rows.js';
import { freeSlots } from '../shared/slot-allocation.js';
import { adjustStandingRow, type StandingChange } from '../shared/standings.js';

/** An item a mission gave. */
export interface RewardItem {
  itemId: number;
  templateId: number;
  quantity: number;
}

/** What a completed mission paid, and the character's totals after it. */
export interface MissionReward {
  experienceGained: number;
  level: number;
  experience: number;
  levelsGained: number;
  moneyGained: number;
  money: number;
  items: RewardItem[];
  standings: StandingChange[];
}

/**
 * Pays a mission's rewards inside the caller's transaction (which holds the character's row
 * lock): experience through the one level-up path, money with its transaction_history row,
 * items into the inventory (ids handed in, from the cluster's item_id sequence), standings, and
 * the character_statistics counters.
 */
export async function payMissionRewards(
  conn: PooledConnection,
  p: {
    characterId: number;
    shard: string;
    template: MissionTemplate;
    curve: LevelCurve;
    money: number;
    districtId: number;
    itemIds: number[];
  },
): Promise<MissionReward> {
  const { characterId: cid, template: t } = p;
  const progression = await grantExperience(conn, cid, p.shard, t.experienceReward, p.curve);
  const money = p.money + t.moneyReward;
  if (t.moneyReward > 0) await conn.exec('UPDATE characters SET money = ? WHERE character_id = ?', [money, cid]);
  const items = t.itemRewards.map((r, i) => ({ itemId: p.itemIds[i]!, templateId: r.templateId, quantity: r.quantity }));
  // Rewards take the first free backpack slots, as grants do (the caller holds the character's row lock).
  const slots = await freeSlots(conn, cid, items.length);
  for (const [i, item] of items.entries()) {
    await conn.exec(
      `INSERT INTO character_inventory (item_id, character_id, template_id, quantity, acquired_method, acquired_from, slot_position)
         VALUES (?, ?, ?, ?, 'quest', ?, ?)`,
      [item.itemId, cid, item.templateId, item.quantity, `mission ${t.missionId}`, slots[i]],
    );
  }
  if (t.moneyReward > 0 || items.length > 0) {
    await conn.exec(
      `INSERT INTO transaction_history (to_character_id, transaction_type, money_amount, items_transferred, transaction_reason,
                                        related_mission_id, district_id)
         VALUES (?, 'quest_reward', ?, ?, ?, ?, ?)`,
      [cid, t.moneyReward, items.length > 0 ? JSON.stringify(items) : null, `mission ${t.missionId}`, t.missionId, p.districtId],
    );
  }
  const standings: StandingChange[] = [];
  for (const [faction, delta] of Object.entries(t.factionStandingRewards) as Array<[Faction, number | undefined]>) {
    if (delta) standings.push(await adjustStandingRow(conn, cid, faction, delta));
  }
  await conn.exec(
    `INSERT INTO character_statistics (character_id, missions_completed, story_missions_completed, daily_missions_completed, money_earned)
       VALUES (?, 1, ?, ?, ?)
       ON DUPLICATE KEY UPDATE missions_completed = COALESCE(missions_completed, 0) + 1,
         story_missions_completed = COALESCE(story_missions_completed, 0) + VALUES(story_missions_completed),
         daily_missions_completed = COALESCE(daily_missions_completed, 0) + VALUES(daily_missions_completed),
         money_earned = COALESCE(money_earned, 0) + VALUES(money_earned)`,
    [cid, t.missionType === 'story' ? 1 : 0, t.missionType === 'daily' ? 1 : 0, t.moneyReward],
  );
  return {
    experienceGained: progression.experienceGained,
    level: progression.level,
    experience: progression.experience,
    levelsGained: progression.levelsGained,
    moneyGained: t.moneyReward,
    money,
    items,
    standings,
  };
}

/**
 * Ends a character's mission: its status, and a mission_history row (with the seconds since it
 * was accepted and what it paid). A failure also counts in character_statistics.
 */
export async function recordMissionEnd(
  conn: PooledConnection,
  characterId: number,
  missionId: number,
  status: 'completed' | 'failed' | 'abandoned',
  reward?: MissionReward,
): Promise<void> {
  await conn.exec(
    `INSERT INTO mission_history (character_id, mission_id, completion_status, completion_time, experience_gained, money_gained,
                                  items_received, faction_changes, completion_method)
       SELECT character_id, mission_id, ?, TIMESTAMPDIFF(SECOND, accepted_date, NOW()), ?, ?, ?, ?, 'mxo-data'
         FROM character_missions WHERE character_id = ? AND mission_id = ?`,
    [
      status,
      reward?.experienceGained ?? 0,
      reward?.moneyGained ?? 0,
      reward ? JSON.stringify(reward.items) : null,
      reward ? JSON.stringify(reward.standings.map((s) => ({ faction: s.faction, change: s.change }))) : null,
      characterId,
      missionId,
    ],
  );
  await conn.exec(
    `UPDATE character_missions SET mission_status = ?, completed_date = IF(? = 'completed', NOW(), completed_date)
      WHERE character_id = ? AND mission_id = ?`,
    [status, status, characterId, missionId],
  );
  if (status === 'failed') {
    await conn.exec(
      `INSERT INTO character_statistics (character_id, missions_failed) VALUES (?, 1)
         ON DUPLICATE KEY UPDATE missions_failed = COALESCE(missions_failed, 0) + 1`,
      [characterId],
    );
  }
}

/** The first payout of an already completed mission, from its latest history row, with today's totals. */
export async function readLastPayout(conn: PooledConnection, cid: number, mid: number): Promise<MissionReward> {
  const [h] = await conn.rows(
    `SELECT experience_gained, money_gained, items_received, faction_changes FROM mission_history
      WHERE character_id = ? AND mission_id = ? AND completion_status = 'completed' ORDER BY history_id DESC LIMIT 1`,
    [cid, mid],
  );
  const [c] = await conn.rows<{ level: number; experience: number; money: number | string }>(
    'SELECT level, experience, money FROM characters WHERE character_id = ?',
    [cid],
  );
  const standings = await conn.rows<{ faction: string; standing_points: number; reputation_level: string }>(
    'SELECT faction, standing_points, reputation_level FROM character_faction_standings WHERE character_id = ?',
    [cid],
  );
  const changes = jsonValue<Array<{ faction: string; change: number }>>(h?.faction_changes, []);
  return {
    experienceGained: Number(h?.experience_gained ?? 0),
    level: Number(c!.level),
    experience: Number(c!.experience),
    levelsGained: 0,
    moneyGained: Number(h?.money_gained ?? 0),
    money: Number(c!.money),
    items: jsonValue(h?.items_received, []),
    standings: changes.map((ch) => {
      const s = standings.find((row) => row.faction === ch.faction);
      return {
        faction: ch.faction as Faction,
        change: ch.change,
        standingPoints: Number(s?.standing_points ?? 0),
        reputationLevel: (s?.reputation_level ?? 'neutral') as ReputationLevel,
      };
    }),
  };
}
