import { MxoError } from '../errors.js';
import { errnoOf, isConnectionLost, isRetryableLockError } from '../pool/mysql-errors.js';
import { inList } from '../pool/in-list.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import type { LogRow, Position } from './types.js';

/**
 * The statements a write-behind flush sends (multi-row, one per batch), and the row-by-row
 * isolation that keeps one bad or locked row from holding back a shard's other rows.
 */

/** What happened to one buffered row in a flush. */
export type RowOutcome = 'written' | 'dead' | 'deferred';

export const LOG_COLUMNS: Record<LogRow['table'], string[]> = {
  player_action_logs: [
    'character_id',
    'action_type',
    'action_details',
    'district_id',
    'target_character_id',
    'item_id',
    'action_result',
    'error_message',
    'action_timestamp',
  ],
  chat_logs: [
    'character_id',
    'channel_type',
    'message_content',
    'target_character_id',
    'district_id',
    'position_x',
    'position_y',
    'position_z',
    'message_timestamp',
  ],
  system_logs: ['log_level', 'log_category', 'log_message', 'log_data', 'character_id', 'district_id', 'session_id', 'created_at'],
};

/**
 * One UPDATE for a batch of positions; a character that moved to another shard meanwhile matches
 * no row. Returns the rows matched (the pool's connections report found rows, not changed rows).
 */
export async function writePositions(conn: PooledConnection, batch: Array<[number, Position]>): Promise<number> {
  const ids = batch.map(([id]) => id);
  const column = (name: string, pick: (p: Position) => number | undefined) => {
    const params: unknown[] = [];
    const cases = batch.map(([id, p]) => {
      params.push(id, pick(p) ?? null);
      return 'WHEN ? THEN COALESCE(?, ' + name + ')';
    });
    return { sql: `${name} = CASE character_id ${cases.join(' ')} ELSE ${name} END`, params };
  };
  const sets = [
    column('position_x', (p) => p.x),
    column('position_y', (p) => p.y),
    column('position_z', (p) => p.z),
    column('rotation_x', (p) => p.rotation?.x),
    column('rotation_y', (p) => p.rotation?.y),
    column('rotation_z', (p) => p.rotation?.z),
    column('rotation_w', (p) => p.rotation?.w),
  ];
  const header = await conn.batch(
    `UPDATE characters SET ${sets.map((s) => s.sql).join(', ')} WHERE character_id IN (${ids.map(() => '?').join(',')})`,
    [...sets.flatMap((s) => s.params), ...ids],
  );
  return header.affectedRows;
}

/** Which of these characters have no row on this shard (they moved away, or were deleted). */
export async function absentCharacters(conn: PooledConnection, ids: number[]): Promise<number[]> {
  const list = inList(ids);
  const present = await conn.rows<{ character_id: number }>(`SELECT character_id FROM characters WHERE character_id IN ${list.sql}`, list.params);
  const here = new Set(present.map((r) => Number(r.character_id)));
  return ids.filter((id) => !here.has(id));
}

/** One multi-row INSERT for a batch of log rows of one table. */
export async function writeLogs(conn: PooledConnection, table: LogRow['table'], batch: LogRow[]): Promise<void> {
  const columns = LOG_COLUMNS[table];
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  await conn.batch(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`,
    batch.flatMap((row) => columns.map((c) => row.values[c] ?? null)),
  );
}

/** Error 1153: the statement was over the server's `max_allowed_packet`; the server drops the connection. */
export const ER_NET_PACKET_TOO_LARGE = 1153;

/**
 * A batch went over the shard's `max_allowed_packet` (1153) and the connection is gone: the flush
 * ends, rows not written stay buffered, and the buffer sends smaller batches from then on. A row
 * over the limit on its own is a dead letter (a row fault) before this is thrown.
 */
export class PacketTooLargeError extends MxoError {
  constructor(
    readonly shard: string,
    readonly rows: number,
    options?: { cause?: unknown },
  ) {
    super('WRITE_BEHIND_DEFERRED', `write-behind batch of ${rows} row(s) for shard ${shard} was over max_allowed_packet (1153)`, options);
  }
}

/**
 * Writes a batch; if the shard refuses it, writes its rows one by one so one bad or locked row
 * cannot hold back the others: a row refused on its own is `dead` (handed to `onDead`), a row
 * still locked after the short lock wait is `deferred`. A lost connection is not a row's fault:
 * it ends the flush. A packet too large (1153) is a row fault for a single row (dead, then the
 * flush ends: the server dropped the connection) and ends the flush for a larger batch
 * ({@link PacketTooLargeError}: the buffer halves its batches).
 *
 * `outcomes[i]` is set as row i settles, so when this throws the caller still knows which rows
 * were written (and must not be written again) or dropped.
 */
export async function isolate<T>(
  batch: T[],
  write: (rows: T[]) => Promise<void>,
  onDefer: (error: unknown) => void,
  onDead: (row: T, error: unknown) => Promise<void>,
  outcomes: RowOutcome[] = [],
  shard = '',
): Promise<RowOutcome[]> {
  try {
    await write(batch);
    batch.forEach((_, i) => (outcomes[i] = 'written'));
    return outcomes;
  } catch (error) {
    const tooLarge = errnoOf(error) === ER_NET_PACKET_TOO_LARGE;
    if (!tooLarge && isConnectionLost(error)) throw error;
    if (batch.length === 1) {
      if (tooLarge) {
        await onDead(batch[0]!, error);
        outcomes[0] = 'dead';
        throw new PacketTooLargeError(shard, 1, { cause: error });
      }
      if (isRetryableLockError(error)) {
        onDefer(error);
        outcomes[0] = 'deferred';
        return outcomes;
      }
      await onDead(batch[0]!, error);
      outcomes[0] = 'dead';
      return outcomes;
    }
    if (tooLarge) throw new PacketTooLargeError(shard, batch.length, { cause: error });
  }
  for (let i = 0; i < batch.length; i++) {
    const one: RowOutcome[] = [];
    try {
      await isolate([batch[i]!], write, onDefer, onDead, one, shard);
    } finally {
      if (one[0]) outcomes[i] = one[0];
    }
  }
  return outcomes;
}

/** Names a dropped row in a system_logs line on the shard (best effort: it never fails the flush). */
export async function logDeadLetter(
  conn: PooledConnection,
  shard: string,
  kind: string,
  row: Record<string, unknown>,
  error: unknown,
): Promise<void> {
  const e = error as { errno?: number; code?: string; sqlMessage?: string; message?: string };
  const reason = String(e?.sqlMessage ?? e?.message ?? error).slice(0, 500);
  await conn
    .exec(
      `INSERT INTO system_logs (log_level, log_category, log_message, log_data, character_id, created_at)
       VALUES ('ERROR', 'write_behind', ?, ?, ?, UTC_TIMESTAMP())`,
      [
        `write-behind dead letter: ${kind} row refused by shard ${shard} (${e?.errno ?? e?.code ?? 'error'})`,
        JSON.stringify({ kind, ...row, errno: e?.errno ?? null, reason }),
        typeof row.character_id === 'number' ? row.character_id : null,
      ],
    )
    .catch(() => {});
}
