import { z } from 'zod';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput, schemaFor } from '../../validate.js';
import { consistencyOf } from '../../routing/consistency.js';
import { districtId, floatColumn, textColumn, varcharColumn, id } from '../shared/fields.js';
import { MutedError } from '../../errors.js';
import { isMuted } from '../shared/account-access.js';
import { LOG_LEVELS, newestFirst, readChat, readSystemLogs, type ChatMessage, type SystemLogEntry } from './log-reads.js';
import type { RepoContext } from '../shared/context.js';
import { boundedJson } from '../../writebehind/byte-budget.js';

/** A player action (the seed's `player_action_logs`). */
export interface ActionLogInput {
  characterId: number;
  /** Up to 32 characters. */
  actionType: string;
  details?: Record<string, unknown>;
  /** Where it happened (the row goes to that district's shard; default the character's shard). */
  districtId?: number;
  targetCharacterId?: number;
  itemId?: number;
  /** Default `success`. */
  result?: 'success' | 'failure' | 'partial';
  errorMessage?: string;
}

/** A chat line (the seed's `chat_logs`). */
export interface ChatLogInput {
  characterId: number;
  channel: 'say' | 'broadcast' | 'crew' | 'faction' | 'private' | 'system';
  /** At most 65,535 bytes of UTF-8. */
  message: string;
  targetCharacterId?: number;
  /** Where it was said; default the character's district (as the directory routes it). */
  districtId?: number;
  position?: { x: number; y: number; z: number };
}

/** A server event (the seed's `system_logs`), written on the district's shard. */
export interface SystemLogInput {
  level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
  /** Up to 32 characters. */
  category: string;
  message: string;
  data?: Record<string, unknown>;
  characterId?: number;
  districtId: number;
  sessionId?: string;
}

const json = boundedJson; // bounded in bytes: one row must never outgrow a batch (src/writebehind/byte-budget.ts)
const actionInput = schemaFor<ActionLogInput>()(
  z
    .object({
      characterId: id,
      actionType: varcharColumn(32, 1),
      details: json.optional(),
      districtId: districtId.optional(),
      targetCharacterId: id.optional(),
      itemId: id.optional(),
      result: z.enum(['success', 'failure', 'partial']).default('success'),
      errorMessage: textColumn().optional(),
    })
    .strict(),
);
const chatInput = schemaFor<ChatLogInput>()(
  z
    .object({
      characterId: id,
      channel: z.enum(['say', 'broadcast', 'crew', 'faction', 'private', 'system']),
      message: textColumn(1),
      targetCharacterId: id.optional(),
      districtId: districtId.optional(),
      position: z.object({ x: floatColumn, y: floatColumn, z: floatColumn }).strict().optional(),
    })
    .strict(),
);
const systemInput = schemaFor<SystemLogInput>()(
  z
    .object({
      level: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']),
      category: varcharColumn(32, 1),
      message: textColumn(1),
      data: json.optional(),
      characterId: id.optional(),
      districtId,
      sessionId: varcharColumn(128).optional(),
    })
    .strict(),
);

const when = z.date().refine((d) => !Number.isNaN(d.getTime()), { message: 'must be a valid date' });
const readLimit = z.number().int().min(1).max(1000).default(100);
const chatQuery = z
  .object({
    districtId: districtId.optional(),
    characterId: id.optional(),
    channel: z.enum(['say', 'broadcast', 'crew', 'faction', 'private', 'system']).optional(),
    since: when.optional(),
    until: when.optional(),
    flaggedOnly: z.boolean().optional(),
    limit: readLimit,
    consistency: z.enum(['strong', 'session', 'eventual']).optional(),
  })
  .strict();
const systemQuery = z
  .object({
    level: z.enum(LOG_LEVELS).optional(),
    category: varcharColumn(32, 1).optional(),
    characterId: id.optional(),
    districtId: districtId.optional(),
    since: when.optional(),
    until: when.optional(),
    limit: readLimit,
    consistency: z.enum(['strong', 'session', 'eventual']).optional(),
  })
  .strict();

export type { ChatMessage, SystemLogEntry };

export interface ChatHistoryQuery {
  /** Only this district (one shard is read); else every shard. */
  districtId?: number;
  characterId?: number;
  channel?: 'say' | 'broadcast' | 'crew' | 'faction' | 'private' | 'system';
  since?: Date;
  until?: Date;
  flaggedOnly?: boolean;
  /** 1-1000, default 100. */
  limit?: number;
  consistency?: Consistency;
}

export interface SystemLogQuery {
  /** Minimum level ('WARN': WARN, ERROR, FATAL). */
  level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
  category?: string;
  characterId?: number;
  /** Only this district (one shard is read); else every shard. */
  districtId?: number;
  since?: Date;
  until?: Date;
  limit?: number;
  consistency?: Consistency;
}

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

  /**
   * Buffers a player action (written with the shard's next flush, stamped with the call's time).
   * @example await db.logs.action({ characterId, actionType: 'attack', districtId: 5 });
   */
  async action(input: ActionLogInput): Promise<void> {
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

  /**
   * Buffers a chat line. Refused with MutedError while the speaker's account is muted.
   * @example await db.logs.chat({ characterId, channel: 'say', message: 'Wake up', districtId: 1 });
   */
  async chat(input: ChatLogInput): Promise<void> {
    const d = parseInput(chatInput, input, 'chat log');
    const route = await this.ctx.router.directory.resolve(d.characterId);
    const muted = await this.ctx.router.readGlobal('chat_mute_check', 'session', (conn) => isMuted(conn, route.accountId));
    if (muted !== false) throw new MutedError(route.accountId, muted);
    // Without a district, the character's own as the directory routes it: a line stored with
    // none would be missed by every chatHistory({ districtId }).
    const districtId = d.districtId ?? route.districtId;
    await (
      await this.buffer(districtId, d.characterId)
    ).appendLog({
      table: 'chat_logs',
      values: {
        character_id: d.characterId,
        channel_type: d.channel,
        message_content: d.message,
        target_character_id: d.targetCharacterId,
        district_id: districtId,
        position_x: d.position?.x,
        position_y: d.position?.y,
        position_z: d.position?.z,
        message_timestamp: new Date(),
      },
    });
  }

  /**
   * Buffers a system log line on the district's shard.
   * @example await db.logs.system({ level: 'WARN', category: 'spawn', message: 'spawner stuck', districtId: 2 });
   */
  async system(input: SystemLogInput): Promise<void> {
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

  /**
   * A character's recent actions from every shard (replica-eligible; `eventual` by default).
   *
   * @example
   * const actions = await db.logs.recentActions(characterId, { limit: 20 });
   */
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

  /**
   * Chat lines, newest first, from the district's shard or every shard (replica-eligible;
   * `eventual` by default). Lines still in the write-behind buffer are not visible yet.
   * @example const lines = await db.logs.chatHistory({ districtId: 1, since: new Date(Date.now() - 3_600_000), limit: 50 });
   */
  async chatHistory(query: ChatHistoryQuery = {}): Promise<ChatMessage[]> {
    const f = parseInput(chatQuery, query, 'chat history query');
    return newestFirst(
      await this.gather('chat_history', f.districtId, consistencyOf(f, 'eventual'), (conn, shard) => readChat(conn, shard, f)),
      f.limit,
      (m) => m.messageId,
    );
  }

  /**
   * System log lines at or above a level, newest first, from every shard (or the district's).
   * @example const errors = await db.logs.systemLogs({ level: 'ERROR', since, limit: 100 });
   */
  async systemLogs(query: SystemLogQuery = {}): Promise<SystemLogEntry[]> {
    const f = parseInput(systemQuery, query, 'system log query');
    return newestFirst(
      await this.gather('system_logs', f.districtId, consistencyOf(f, 'eventual'), (conn, shard) => readSystemLogs(conn, shard, f)),
      f.limit,
      (e) => e.logId,
    );
  }

  private async gather<T>(
    operation: string,
    districtId: number | undefined,
    level: Consistency,
    fn: (conn: PooledConnection, shard: string) => Promise<T>,
  ): Promise<T[]> {
    if (districtId === undefined) return this.ctx.router.readEveryShard(operation, level, fn);
    const shard = this.ctx.router.topology.shardOfDistrict(districtId);
    return [await this.ctx.router.readShard(operation, shard, level, (conn) => fn(conn, shard))];
  }

  private async buffer(districtId: number | undefined, characterId: number | undefined) {
    const shard =
      districtId !== undefined
        ? this.ctx.router.topology.shardOfDistrict(districtId)
        : (await this.ctx.router.directory.resolve(characterId!)).shard;
    return this.ctx.writeBehind(shard);
  }
}
