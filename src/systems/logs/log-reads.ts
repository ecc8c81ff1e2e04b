import type { PooledConnection } from '../../pool/pooled-connection.js';
import { compareShardKeys } from '../../routing/lock-order.js';

/** One chat line as the library returns it (`messageId` is unique per shard: keep `shard` with it). */
export interface ChatMessage {
  shard: string;
  messageId: number;
  characterId: number;
  channel: string;
  message: string;
  targetCharacterId: number | null;
  districtId: number | null;
  at: Date;
  isFlagged: boolean;
  moderationAction: string;
  moderatedBy: number | null;
}

/** One system log line (`logId` is unique per shard). */
export interface SystemLogEntry {
  shard: string;
  logId: number;
  level: string;
  category: string;
  message: string;
  data: unknown;
  characterId: number | null;
  districtId: number | null;
  sessionId: string | null;
  at: Date;
}

export interface ChatFilter {
  districtId?: number;
  characterId?: number;
  channel?: string;
  since?: Date;
  until?: Date;
  flaggedOnly?: boolean;
  limit: number;
}

export interface SystemLogFilter {
  /** Minimum level: 'WARN' returns WARN, ERROR and FATAL. */
  level?: string;
  category?: string;
  characterId?: number;
  districtId?: number;
  since?: Date;
  until?: Date;
  limit: number;
}

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;

/** Newest chat lines of one shard matching the filter (the time range prunes partitions). */
export async function readChat(conn: PooledConnection, shard: string, f: ChatFilter): Promise<ChatMessage[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    params.push(value);
  };
  if (f.districtId !== undefined) add('district_id = ?', f.districtId);
  if (f.characterId !== undefined) add('character_id = ?', f.characterId);
  if (f.channel !== undefined) add('channel_type = ?', f.channel);
  if (f.since !== undefined) add('message_timestamp >= ?', f.since);
  if (f.until !== undefined) add('message_timestamp < ?', f.until);
  if (f.flaggedOnly) where.push('is_flagged = TRUE');
  const rows = await conn.rows<Record<string, unknown>>(
    `SELECT message_id, character_id, channel_type, message_content, target_character_id, district_id, message_timestamp,
            is_flagged, moderation_action, moderated_by
       FROM chat_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY message_timestamp DESC, message_id DESC LIMIT ${f.limit}`,
    params,
  );
  return rows.map((r) => ({
    shard,
    messageId: Number(r.message_id),
    characterId: Number(r.character_id),
    channel: String(r.channel_type),
    message: String(r.message_content),
    targetCharacterId: r.target_character_id === null ? null : Number(r.target_character_id),
    districtId: r.district_id === null ? null : Number(r.district_id),
    at: r.message_timestamp as Date,
    isFlagged: Boolean(r.is_flagged),
    moderationAction: String(r.moderation_action),
    moderatedBy: r.moderated_by === null ? null : Number(r.moderated_by),
  }));
}

/** Newest system log lines of one shard matching the filter. */
export async function readSystemLogs(conn: PooledConnection, shard: string, f: SystemLogFilter): Promise<SystemLogEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    params.push(value);
  };
  if (f.level !== undefined) {
    const levels = LOG_LEVELS.slice(LOG_LEVELS.indexOf(f.level as (typeof LOG_LEVELS)[number]));
    where.push(`log_level IN (${levels.map(() => '?').join(', ')})`);
    params.push(...levels);
  }
  if (f.category !== undefined) add('log_category = ?', f.category);
  if (f.characterId !== undefined) add('character_id = ?', f.characterId);
  if (f.districtId !== undefined) add('district_id = ?', f.districtId);
  if (f.since !== undefined) add('created_at >= ?', f.since);
  if (f.until !== undefined) add('created_at < ?', f.until);
  const rows = await conn.rows<Record<string, unknown>>(
    `SELECT log_id, log_level, log_category, log_message, log_data, character_id, district_id, session_id, created_at
       FROM system_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, log_id DESC LIMIT ${f.limit}`,
    params,
  );
  return rows.map((r) => ({
    shard,
    logId: Number(r.log_id),
    level: String(r.log_level),
    category: String(r.log_category),
    message: String(r.log_message),
    data: typeof r.log_data === 'string' ? JSON.parse(r.log_data) : (r.log_data ?? null),
    characterId: r.character_id === null ? null : Number(r.character_id),
    districtId: r.district_id === null ? null : Number(r.district_id),
    sessionId: (r.session_id as string | null) ?? null,
    at: r.created_at as Date,
  }));
}

/** Merges per-shard newest-first lists into one, newest first, cut to `limit`. */
export function newestFirst<T extends { at: Date; shard: string }>(perShard: T[][], limit: number, idOf: (x: T) => number): T[] {
  return perShard
    .flat()
    .sort((a, b) => b.at.getTime() - a.at.getTime() || compareShardKeys(a.shard, b.shard) || idOf(b) - idOf(a))
    .slice(0, limit);
}
