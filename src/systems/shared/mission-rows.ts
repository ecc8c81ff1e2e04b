import type { MissionStatus, MissionTemplate, MissionType } from './mission-template.js';
import type { Faction } from './reputation.js';
import type { PooledConnection, Row } from '../../pool/pooled-connection.js';

/** One objective of a character's mission. */
export interface MissionObjective {
  objectiveIndex: number;
  description: string;
  currentProgress: number;
  requiredProgress: number;
  isCompleted: boolean;
}

/** A character's mission (a row of character_missions with its objectives). */
export interface MissionState {
  characterId: number;
  missionId: number;
  missionName: string;
  missionType: MissionType;
  status: MissionStatus;
  acceptedAt: Date | null;
  completedAt: Date | null;
  objectives: MissionObjective[];
  /** Every objective is complete (and the mission is active): `complete` will pay. */
  readyToComplete: boolean;
}

/** A JSON column's value: mysql2 hands MariaDB JSON (a LONGTEXT) back as a string. */
export function jsonValue<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

const TEMPLATE_COLUMNS = `mission_id, mission_name, mission_description, mission_type, difficulty_level, recommended_players,
  level_requirement, faction_requirement, prerequisite_missions, required_items, objectives, experience_reward, money_reward,
  item_rewards, faction_standing_rewards, repeatable, cooldown_seconds, is_active`;

/** The columns and values of a new mission_templates row (the seed's columns, JSON as text). */
export function templateRow(t: Omit<MissionTemplate, 'missionId'>): Row {
  return {
    mission_name: t.missionName,
    mission_description: t.missionDescription,
    mission_type: t.missionType,
    difficulty_level: t.difficultyLevel,
    recommended_players: t.recommendedPlayers,
    level_requirement: t.levelRequirement,
    faction_requirement: t.factionRequirement,
    prerequisite_missions: JSON.stringify(t.prerequisiteMissions),
    required_items: JSON.stringify(t.requiredItems),
    objectives: JSON.stringify(t.objectives),
    completion_requirements: JSON.stringify({ allObjectives: true }),
    experience_reward: t.experienceReward,
    money_reward: t.moneyReward,
    item_rewards: JSON.stringify(t.itemRewards),
    faction_standing_rewards: JSON.stringify(t.factionStandingRewards),
    repeatable: t.repeatable,
    // The seed's column is in hours; the library reads cooldown_seconds.
    cooldown_period: Math.ceil(t.cooldownSec / 3600),
    cooldown_seconds: t.cooldownSec,
    is_active: t.isActive,
  };
}

/** Reads a template from this node's copy (a shard's copy inside a character's transaction). */
export async function readTemplate(conn: PooledConnection, missionId: number): Promise<MissionTemplate | undefined> {
  const [row] = await conn.rows(`SELECT ${TEMPLATE_COLUMNS} FROM mission_templates WHERE mission_id = ?`, [missionId]);
  return row && toTemplate(row);
}

export function toTemplate(row: Row): MissionTemplate {
  return {
    missionId: Number(row.mission_id),
    missionName: String(row.mission_name),
    missionDescription: String(row.mission_description ?? ''),
    missionType: row.mission_type as MissionType,
    difficultyLevel: Number(row.difficulty_level),
    recommendedPlayers: Number(row.recommended_players),
    levelRequirement: Number(row.level_requirement ?? 1),
    factionRequirement: (row.faction_requirement as Faction | null) ?? null,
    prerequisiteMissions: jsonValue(row.prerequisite_missions, []),
    requiredItems: jsonValue(row.required_items, []),
    objectives: jsonValue(row.objectives, []),
    experienceReward: Number(row.experience_reward ?? 0),
    moneyReward: Number(row.money_reward ?? 0),
    itemRewards: jsonValue(row.item_rewards, []),
    factionStandingRewards: jsonValue(row.faction_standing_rewards, {}),
    repeatable: Boolean(row.repeatable),
    cooldownSec: Number(row.cooldown_seconds ?? 0),
    isActive: Boolean(row.is_active),
  };
}

/**
 * A character's missions (one, or all; optionally of one status) with their objectives, from
 * the connection's node. Objective descriptions come from the template.
 */
export async function readMissionStates(
  conn: PooledConnection,
  characterId: number,
  filter: { missionId?: number; status?: MissionStatus } = {},
): Promise<MissionState[]> {
  const where = ['cm.character_id = ?'];
  const params: unknown[] = [characterId];
  if (filter.missionId !== undefined) (where.push('cm.mission_id = ?'), params.push(filter.missionId));
  if (filter.status !== undefined) (where.push('cm.mission_status = ?'), params.push(filter.status));
  const missions = await conn.rows(
    `SELECT cm.mission_id, cm.mission_status, cm.accepted_date, cm.completed_date, mt.mission_name, mt.mission_type, mt.objectives
       FROM character_missions cm JOIN mission_templates mt ON mt.mission_id = cm.mission_id
      WHERE ${where.join(' AND ')} ORDER BY cm.mission_id`,
    params,
  );
  if (missions.length === 0) return [];
  const progress = await conn.rows(
    `SELECT mission_id, objective_index, current_progress, required_progress, is_completed
       FROM mission_objective_progress mop WHERE character_id = ? ${filter.missionId !== undefined ? 'AND mission_id = ?' : ''}
      ORDER BY mission_id, objective_index`,
    filter.missionId !== undefined ? [characterId, filter.missionId] : [characterId],
  );
  return missions.map((m) => {
    const definitions = jsonValue<Array<{ description: string }>>(m.objectives, []);
    const status = m.mission_status as MissionStatus;
    const objectives = progress
      .filter((p) => Number(p.mission_id) === Number(m.mission_id))
      .map((p) => ({
        objectiveIndex: Number(p.objective_index),
        description: definitions[Number(p.objective_index)]?.description ?? '',
        currentProgress: Number(p.current_progress),
        requiredProgress: Number(p.required_progress),
        isCompleted: Boolean(p.is_completed),
      }));
    return {
      characterId,
      missionId: Number(m.mission_id),
      missionName: String(m.mission_name),
      missionType: m.mission_type as MissionType,
      status,
      acceptedAt: (m.accepted_date as Date | null) ?? null,
      completedAt: (m.completed_date as Date | null) ?? null,
      objectives,
      readyToComplete: (status === 'accepted' || status === 'in_progress') && objectives.every((o) => o.isCompleted),
    };
  });
}
