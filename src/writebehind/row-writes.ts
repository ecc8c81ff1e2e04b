import { isConnectionLost, isRetryableLockError } from '../pool/mysql-errors.js';
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

/** One UPDATE for a batch of positions; a character that moved to another shard meanwhile matches no row. */
export async function writePositions(conn: PooledConnection, batch: Array<[number, Position]>): Promise<void> {
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
  await conn.batch(`UPDATE characters SET ${sets.map((s) => s.sql).join(', ')} WHERE character_id IN (${ids.map(() => '?').join(',')})`, [
    ...sets.flatMap((s) => s.params),
    ...ids,
  ]);
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

/**
 * Writes a batch; if the shard refuses it, writes its rows one by one so one bad or locked row
 * cannot hold back the others: a row refused on its own is `dead` (handed to `onDead`), a row
 * still locked after the short lock wait is `deferred`. A lost connection is not a row's fault:
 * it ends the flush.
 */
export async function isolate<T>(
  batch: T[],
  write: (rows: T[]) => Promise<void>,
  onDefer: (error: unknown) => void,
  onDead: (row: T, error: unknown) => Promise<void>,
): Promise<RowOutcome[]> {
  try {
    await write(batch);
    return batch.map(() => 'written');
  } catch (error) {
    if (isConnectionLost(error)) throw error;
    if (batch.length === 1) {
      if (isRetryableLockError(error)) {
        onDefer(error);
        return ['deferred'];
      }
      await onDead(batch[0]!, error);
      return ['dead'];
    }
  }
  const outcomes: RowOutcome[] = [];
  for (const row of batch) outcomes.push(...(await isolate([row], write, onDefer, onDead)));
  return outcomes;
}

/** Names a dropped row in a system_logs line on the shard (best effort: it never fails the flush). */
export async function logDeadLetter(
  conn: PooledConnection,
  shard: string,
  kind: 'position' | 'log',
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
