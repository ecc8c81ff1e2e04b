import { z } from 'zod';
import type { Consistency } from '../routing/read-router.js';
import { parseInput } from '../validate.js';
import { consistencyOf } from '../routing/consistency.js';
import { floatColumn, textColumn, varcharColumn } from '../sql/column-limits.js';
import type { RepoContext } from './context.js';

const id = z.number().int().positive();
const json = z.record(z.string(), z.unknown());
const actionInput = z
  .object({
    characterId: id,
    actionType: varcharColumn(32, 1),
    details: json.optional(),
    districtId: id.optional(),
    targetCharacterId: id.optional(),
    itemId: id.optional(),
    result: z.enum(['success', 'failure', 'partial']).default('success'),
    errorMessage: textColumn().optional(),
  })
  .strict();
const chatInput = z
  .object({
    characterId: id,
    channel: z.enum(['say', 'broadcast', 'crew', 'faction', 'private', 'system']),
    message: textColumn(1),
    targetCharacterId: id.optional(),
    districtId: id.optional(),
    position: z.object({ x: floatColumn, y: floatColumn, z: floatColumn }).strict().optional(),
  })
  .strict();
const systemInput = z
  .object({
    level: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']),
    category: varcharColumn(32, 1),
    message: textColumn(1),
    data: json.optional(),
    characterId: id.optional(),
    districtId: id,
    sessionId: varcharColumn(128).optional(),
  })
  .strict();

export interface ActionLogEntry {
  shard: string;
  actionId: number;
  characterId: number;
  actionType: string;
  districtId: number | null;
  result: string;
  at: Date;
}

/**
 * Log rows (player actions, chat, system events): event records written on the shard where the
 * event happened (the district's shard, else the character's), through the write-behind buffer,
 * stamped with the time of the event rather than of the flush.
 */
export class Logs {
  constructor(private readonly ctx: RepoContext) {}

  async action(input: z.input<typeof actionInput>): Promise<void> {
    const d = parseInput(actionInput, input, 'action log');
    await (
      await this.buffer(d.districtId, d.characterId)
    ).appendLog({
      table: 'player_action_logs',
      values: {
        character_id: d.characterId,
        action_type: d.actionType,
        action_details: d.details ? JSON.stringify(d.details) : null,
        district_id: d.districtId,
        target_character_id: d.targetCharacterId,
        item_id: d.itemId,
        action_result: d.result,
        error_message: d.errorMessage,
        action_timestamp: new Date(),
      },
    });
  }

  async chat(input: z.input<typeof chatInput>): Promise<void> {
    const d = parseInput(chatInput, input, 'chat log');
    await (
      await this.buffer(d.districtId, d.characterId)
    ).appendLog({
      table: 'chat_logs',
      values: {
        character_id: d.characterId,
        channel_type: d.channel,
        message_content: d.message,
        target_character_id: d.targetCharacterId,
        district_id: d.districtId,
        position_x: d.position?.x,
        position_y: d.position?.y,
        position_z: d.position?.z,
        message_timestamp: new Date(),
      },
    });
  }

  async system(input: z.input<typeof systemInput>): Promise<void> {
    const d = parseInput(systemInput, input, 'system log');
    await (
      await this.buffer(d.districtId, undefined)
    ).appendLog({
      table: 'system_logs',
      values: {
        log_level: d.level,
        log_category: d.category,
        log_message: d.message,
        log_data: d.data ? JSON.stringify(d.data) : null,
        character_id: d.characterId,
        district_id: d.districtId,
        session_id: d.sessionId,
        created_at: new Date(),
      },
    });
  }

  /** A character's recent actions from every shard (replica-eligible; `eventual` by default). */
  async recentActions(characterId: number, options: { limit?: number; consistency?: Consistency } = {}): Promise<ActionLogEntry[]> {
    const cid = parseInput(id, characterId, 'character id');
    const limit = parseInput(z.number().int().min(1).max(1000).default(50), options.limit, 'limit');
    const level = consistencyOf(options, 'eventual');
    const perShard = await this.ctx.router.readEveryShard('recent_actions', level, async (conn, shard) =>
      (
        await conn.rows<Record<string, unknown>>(
          `SELECT action_id, character_id, action_type, district_id, action_result, action_timestamp
               FROM player_action_logs WHERE character_id = ? ORDER BY action_timestamp DESC, action_id DESC LIMIT ${limit}`,
          [cid],
        )
      ).map((r): ActionLogEntry => ({
        shard,
        actionId: Number(r.action_id),
        characterId: Number(r.character_id),
        actionType: String(r.action_type),
        districtId: r.district_id === null ? null : Number(r.district_id),
        result: String(r.action_result),
        at: r.action_timestamp as Date,
      })),
    );
    return perShard
      .flat()
      .sort((a, b) => b.at.getTime() - a.at.getTime() || b.actionId - a.actionId)
      .slice(0, limit);
  }

  private async buffer(districtId: number | undefined, characterId: number | undefined) {
    const shard =
      districtId !== undefined
        ? this.ctx.router.topology.shardOfDistrict(districtId)
        : (await this.ctx.router.directory.resolve(characterId!)).shard;
    return this.ctx.writeBehind(shard);
  }
}
