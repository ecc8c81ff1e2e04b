import { z } from 'zod';
import { NotFoundError, RequirementError } from '../../errors.js';
import { DEFAULT_LEVEL_CURVE } from '../shared/level-curve.js';
import {
  MISSION_STATUSES,
  missionTemplateSchema,
  type MissionStatus,
  type MissionTemplate,
  type MissionTemplateInput,
} from '../shared/mission-template.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { keyed, remember, replayOf } from '../../routing/idempotency.js';
import { idempotencyOptions } from '../shared/fields.js';
import { checkAcceptance } from './mission-checks.js';
import { payMissionRewards, readLastPayout, recordMissionEnd, type MissionReward } from './mission-rewards.js';
import {
  jsonValue,
  readMissionStates,
  readTemplate,
  templateRow,
  type MissionObjective,
  type MissionState,
} from '../shared/mission-rows.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import { id } from '../shared/fields.js';

const INT_MAX = 2_147_483_647;

/** What `progress` returns. */
export interface MissionProgress {
  objectives: MissionObjective[];
  readyToComplete: boolean;
}

/** What `complete` returns: the reward and the totals after it. */
export interface MissionCompletion extends MissionReward {
  missionId: number;
  /** True when the mission was already completed: this call paid nothing (a retry). */
  alreadyCompleted: boolean;
}

/** A row of mission_history. */
export interface MissionHistoryEntry {
  historyId: number;
  missionId: number;
  completionStatus: 'completed' | 'failed' | 'abandoned';
  completionDate: Date;
  completionTimeSec: number | null;
  experienceGained: number;
  moneyGained: number;
  itemsReceived: Array<{ itemId: number; templateId: number; quantity: number }>;
  factionChanges: Array<{ faction: string; change: number }>;
}

/**
 * Missions: templates (reference data on global and every shard) and each character's missions
 * on its shard, from accept to reward. Every call is one transaction on the character's shard.
 */
export class Missions {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Defines a mission template on global and every shard at once; returns its id.
   *
   * @example
   * const missionId = await db.missions.defineTemplate({ missionName: 'Tutorial', missionType: 'story',
   *   objectives: [{ description: 'Talk to Morpheus', required: 1 }], experienceReward: 100, moneyReward: 50 });
   */
  async defineTemplate(input: MissionTemplateInput): Promise<number> {
    const data = parseInput(missionTemplateSchema, input, 'mission template');
    const row = templateRow(data);
    const columns = Object.keys(row);
    const values = columns.map((c) => row[c]);
    return this.ctx.router.onEveryNode('mission_define_template', async (tx, keys) => {
      const global = await tx.branch(GLOBAL);
      await requireRows(
        global,
        'item_templates',
        'template_id',
        [...data.itemRewards, ...data.requiredItems].map((i) => i.templateId),
        'item template',
      );
      await requireRows(global, 'mission_templates', 'mission_id', data.prerequisiteMissions, 'mission template');
      const header = await global.exec(
        `INSERT INTO mission_templates (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        values,
      );
      const missionId = Number(header.insertId);
      for (const shard of keys.filter((k) => k !== GLOBAL)) {
        const conn = await tx.branch(shard);
        await conn.exec(
          `INSERT INTO mission_templates (mission_id, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`,
          [missionId, ...values],
        );
      }
      return missionId;
    });
  }

  /**
   * Reads a mission template (from global).
   *
   * @example
   * const { objectives, repeatable } = await db.missions.getTemplate(missionId);
   */
  async getTemplate(missionId: number): Promise<MissionTemplate> {
    const mid = parseInput(id, missionId, 'mission id');
    const template = await this.ctx.router.readGlobal('mission_template_get', 'session', (conn) => readTemplate(conn, mid));
    if (!template) throw new NotFoundError('mission template', mid);
    return template;
  }

  /**
   * Accepts a mission: checks every requirement (a {@link RequirementError} names the first that
   * fails: active, status, repeatable, cooldown, level, faction, prerequisite, item), then writes
   * character_missions and one mission_objective_progress row per objective.
   *
   * @example
   * await db.missions.accept(characterId, missionId);
   */
  async accept(characterId: number, missionId: number, options: WriteOptions = {}): Promise<MissionState> {
    const cid = parseInput(id, characterId, 'character id');
    const mid = parseInput(id, missionId, 'mission id');
    return this.ctx.router.onCharacter(
      'mission_accept',
      cid,
      async (conn, route) => {
        const template = await readTemplate(conn, mid);
        if (!template) throw new NotFoundError('mission template', mid);
        await checkAcceptance(conn, cid, template);
        const progress = JSON.stringify(template.objectives.map(() => 0));
        await conn.exec(
          `INSERT INTO character_missions (character_id, mission_id, mission_status, progress_data, accepted_date, completed_date)
           VALUES (?, ?, 'accepted', ?, NOW(), NULL)
           ON DUPLICATE KEY UPDATE mission_status = 'accepted', progress_data = VALUES(progress_data), accepted_date = NOW(), completed_date = NULL`,
          [cid, mid, progress],
        );
        // A repeat starts from zero.
        await conn.exec('DELETE FROM mission_objective_progress WHERE character_id = ? AND mission_id = ?', [cid, mid]);
        await conn.exec(
          `INSERT INTO mission_objective_progress (character_id, mission_id, objective_index, current_progress, required_progress)
           VALUES ${template.objectives.map(() => '(?, ?, ?, 0, ?)').join(', ')}`,
          template.objectives.flatMap((o, i) => [cid, mid, i, o.required]),
        );
        return (await readMissionStates(conn, cid, { missionId: mid }))[0]!;
      },
      fencing(options),
    );
  }

  /**
   * Adds `delta` to one objective (capped at its required amount). Concurrent calls on one
   * objective serialise on the character's row lock: no increment is lost.
   *
   * @example
   * const { readyToComplete } = await db.missions.progress(characterId, missionId, 0, 1);
   */
  async progress(
    characterId: number,
    missionId: number,
    objectiveIndex: number,
    delta = 1,
    options: WriteOptions = {},
  ): Promise<MissionProgress> {
    const cid = parseInput(id, characterId, 'character id');
    const mid = parseInput(id, missionId, 'mission id');
    const index = parseInput(z.number().int().min(0).max(63), objectiveIndex, 'objective index');
    const step = parseInput(z.number().int().min(1).max(INT_MAX), delta, 'delta');
    return this.ctx.router.onCharacter(
      'mission_progress',
      cid,
      async (conn, route) => {
        await activeMission(conn, cid, mid);
        const [objective] = await conn.rows<{ current_progress: number; required_progress: number }>(
          `SELECT current_progress, required_progress FROM mission_objective_progress
          WHERE character_id = ? AND mission_id = ? AND objective_index = ? FOR UPDATE`,
          [cid, mid, index],
        );
        if (!objective) throw new NotFoundError('mission objective', `${mid}/${index}`);
        const current = Math.min(Number(objective.required_progress), Number(objective.current_progress) + step);
        const done = current >= Number(objective.required_progress);
        await conn.exec(
          `UPDATE mission_objective_progress SET current_progress = ?, is_completed = ?, completed_date = IF(? AND completed_date IS NULL, NOW(), completed_date)
          WHERE character_id = ? AND mission_id = ? AND objective_index = ?`,
          [current, done, done, cid, mid, index],
        );
        await conn.exec(
          `UPDATE character_missions SET mission_status = 'in_progress',
                progress_data = (SELECT JSON_ARRAYAGG(current_progress ORDER BY objective_index) FROM mission_objective_progress
                                  WHERE character_id = ? AND mission_id = ?)
          WHERE character_id = ? AND mission_id = ?`,
          [cid, mid, cid, mid],
        );
        const [state] = await readMissionStates(conn, cid, { missionId: mid });
        return { objectives: state!.objectives, readyToComplete: state!.readyToComplete };
      },
      fencing(options),
    );
  }

  /**
   * Completes a mission whose objectives are all done, in one transaction: status,
   * mission_history, experience (with level-ups), money and its transaction_history row, item
   * rewards, faction standings, character_statistics. The mission's status is the guard: a retry
   * (also a concurrent one) pays nothing and returns `alreadyCompleted: true` with the first payout.
   * With `idempotencyKey` (src/routing/idempotency.ts), a retry returns the first call's result
   * as it was, and the key with another mission is IdempotencyKeyReusedError.
   *
   * @example
   * const { levelsGained, money, items } = await db.missions.complete(characterId, missionId);
   */
  async complete(
    characterId: number,
    missionId: number,
    options: WriteOptions & { idempotencyKey?: string } = {},
  ): Promise<MissionCompletion> {
    const cid = parseInput(id, characterId, 'character id');
    const mid = parseInput(id, missionId, 'mission id');
    const { idempotencyKey } = parseInput(idempotencyOptions, options, 'options');
    const call = keyed(idempotencyKey, cid, 'mission_complete', { missionId: mid });
    const curve = this.ctx.levelCurve ?? DEFAULT_LEVEL_CURVE;
    return this.ctx.router.onCharacter(
      'mission_complete',
      cid,
      async (conn, route, _tx, character) => {
        const earlier = call && (await replayOf<MissionCompletion>(conn, call));
        if (earlier) return { ...earlier, alreadyCompleted: true };
        const status = await missionStatus(conn, cid, mid);
        if (status === 'completed') return { missionId: mid, alreadyCompleted: true, ...(await readLastPayout(conn, cid, mid)) };
        if (status !== 'accepted' && status !== 'in_progress') throw new RequirementError('status', `mission ${mid} is ${status}`);
        const [open] = await conn.rows<{ n: number | string }>(
          'SELECT COUNT(*) AS n FROM mission_objective_progress WHERE character_id = ? AND mission_id = ? AND NOT is_completed',
          [cid, mid],
        );
        if (Number(open!.n) > 0) throw new RequirementError('objectives', `${open!.n} objective(s) of mission ${mid} not complete`);
        const template = (await readTemplate(conn, mid))!;
        const itemIds: number[] = [];
        for (let i = 0; i < template.itemRewards.length; i++) itemIds.push(await this.ctx.ids.next('item_id'));
        const reward = await payMissionRewards(conn, {
          characterId: cid,
          shard: route.shard,
          template,
          curve,
          money: Number(character.money),
          districtId: Number(character.district_id),
          itemIds,
        });
        await recordMissionEnd(conn, cid, mid, 'completed', reward);
        const completion = { missionId: mid, alreadyCompleted: false, ...reward };
        if (call) await remember(conn, call, completion);
        return completion;
      },
      fencing(options),
    );
  }

  /**
   * Gives up an active mission (history row 'abandoned'); it can be accepted again.
   *
   * @example
   * await db.missions.abandon(characterId, missionId);
   */
  async abandon(characterId: number, missionId: number, options: WriteOptions = {}): Promise<{ missionId: number; status: 'abandoned' }> {
    await this.end(characterId, missionId, 'abandoned', options);
    return { missionId, status: 'abandoned' };
  }

  /**
   * Fails an active mission (history row 'failed', character_statistics.missions_failed + 1).
   *
   * @example
   * await db.missions.fail(characterId, missionId);
   */
  async fail(characterId: number, missionId: number, options: WriteOptions = {}): Promise<{ missionId: number; status: 'failed' }> {
    await this.end(characterId, missionId, 'failed', options);
    return { missionId, status: 'failed' };
  }

  /**
   * A character's missions with their objectives (all, or of one status).
   *
   * @example
   * const active = await db.missions.list(characterId, { status: 'in_progress' });
   */
  async list(characterId: number, options: { status?: MissionStatus; consistency?: Consistency } = {}): Promise<MissionState[]> {
    const cid = parseInput(id, characterId, 'character id');
    const status = parseInput(z.enum(MISSION_STATUSES).optional(), options.status, 'status');
    return this.ctx.router.readCharacter('mission_list', cid, consistencyOf(options, 'session'), async (conn) => {
      const [character] = await conn.rows('SELECT character_id FROM characters WHERE character_id = ?', [cid]);
      return character ? readMissionStates(conn, cid, { status }) : undefined;
    });
  }

  /**
   * A character's mission_history, newest first.
   *
   * @example
   * const [last] = await db.missions.history(characterId, { limit: 10 });
   */
  async history(characterId: number, options: { limit?: number; consistency?: Consistency } = {}): Promise<MissionHistoryEntry[]> {
    const cid = parseInput(id, characterId, 'character id');
    const limit = parseInput(z.number().int().min(1).max(10_000).default(100), options.limit, 'limit');
    return this.ctx.router.readCharacter('mission_history', cid, consistencyOf(options, 'session'), async (conn) => {
      const [character] = await conn.rows('SELECT character_id FROM characters WHERE character_id = ?', [cid]);
      if (!character) return undefined;
      const rows = await conn.rows(
        `SELECT history_id, mission_id, completion_status, completion_date, completion_time, experience_gained, money_gained,
                items_received, faction_changes
           FROM mission_history WHERE character_id = ? ORDER BY completion_date DESC, history_id DESC LIMIT ${limit}`,
        [cid],
      );
      return rows.map((r) => ({
        historyId: Number(r.history_id),
        missionId: Number(r.mission_id),
        completionStatus: r.completion_status as MissionHistoryEntry['completionStatus'],
        completionDate: r.completion_date as Date,
        completionTimeSec: r.completion_time === null ? null : Number(r.completion_time),
        experienceGained: Number(r.experience_gained ?? 0),
        moneyGained: Number(r.money_gained ?? 0),
        itemsReceived: jsonValue(r.items_received, []),
        factionChanges: jsonValue(r.faction_changes, []),
      }));
    });
  }

  private async end(characterId: number, missionId: number, status: 'failed' | 'abandoned', options: WriteOptions = {}): Promise<void> {
    const cid = parseInput(id, characterId, 'character id');
    const mid = parseInput(id, missionId, 'mission id');
    await this.ctx.router.onCharacter(
      `mission_${status === 'failed' ? 'fail' : 'abandon'}`,
      cid,
      async (conn, route) => {
        await activeMission(conn, cid, mid);
        await recordMissionEnd(conn, cid, mid, status);
      },
      fencing(options),
    );
  }
}

/** The status of a character's mission (locked); NotFoundError when never accepted. */
async function missionStatus(conn: PooledConnection, cid: number, mid: number): Promise<MissionStatus> {
  const [row] = await conn.rows<{ mission_status: MissionStatus }>(
    'SELECT mission_status FROM character_missions WHERE character_id = ? AND mission_id = ? FOR UPDATE',
    [cid, mid],
  );
  if (!row) throw new NotFoundError('character mission', `${cid}/${mid}`);
  return row.mission_status;
}

async function activeMission(conn: PooledConnection, cid: number, mid: number): Promise<void> {
  const status = await missionStatus(conn, cid, mid);
  if (status !== 'accepted' && status !== 'in_progress') throw new RequirementError('status', `mission ${mid} is ${status}, not active`);
}

/** Every id in `ids` must exist in `table` on this node (JSON references have no foreign key). */
async function requireRows(conn: PooledConnection, table: string, column: string, ids: number[], entity: string): Promise<void> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return;
  const found = await conn.rows<{ id: number }>(
    `SELECT ${column} AS id FROM ${table} WHERE ${column} IN (${wanted.map(() => '?').join(',')})`,
    wanted,
  );
  const missing = wanted.find((w) => !found.some((f) => Number(f.id) === w));
  if (missing !== undefined) throw new NotFoundError(entity, missing);
}
