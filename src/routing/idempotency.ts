import { createHash } from 'node:crypto';
import { IdempotencyKeyReusedError } from '../errors.js';
import type { PooledConnection } from '../pool/pooled-connection.js';

/**
 * Idempotency keys for single-shard calls that move money or items (table `idempotency_keys`,
 * sql/shard/040_idempotency.sql). Both calls run inside the change's own transaction, after the
 * character row is locked (which serialises retries of one character):
 * `replayOf` returns the first call's result when the key was used for the same request, throws
 * {@link IdempotencyKeyReusedError} when it was used for another one, and returns undefined when
 * it is new; `remember` stores the key with the result, in the same transaction as the change.
 */
export interface IdempotentCall {
  key: string;
  characterId: number;
  operation: string;
  /** The request as validated; hashed in a canonical form (keys sorted). */
  request: unknown;
}

export async function replayOf<T>(conn: PooledConnection, call: IdempotentCall): Promise<T | undefined> {
  const [row] = await conn.rows<{ character_id: number; operation: string; request_hash: Buffer; result: string }>(
    'SELECT character_id, operation, request_hash, result FROM idempotency_keys WHERE key_hash = ? FOR UPDATE',
    [sha256(call.key)],
  );
  if (!row) return undefined;
  const same =
    Number(row.character_id) === call.characterId &&
    row.operation === call.operation &&
    Buffer.from(row.request_hash).equals(requestHash(call));
  if (!same) throw new IdempotencyKeyReusedError(call.key);
  return JSON.parse(row.result) as T;
}

export async function remember(conn: PooledConnection, call: IdempotentCall, result: unknown): Promise<void> {
  await conn.exec('INSERT INTO idempotency_keys (key_hash, character_id, operation, request_hash, result) VALUES (?, ?, ?, ?, ?)', [
    sha256(call.key),
    call.characterId,
    call.operation,
    requestHash(call),
    JSON.stringify(result),
  ]);
}

/**
 * Deletes keys older than `retentionDays` (by the server's clock), in batches so no statement
 * holds many row locks; returns how many went. A retry that comes later than that runs again:
 * keep the retention longer than any client retries. Vendor and treasury keys are not here:
 * they live on their ledger rows (`transaction_history.idempotency_key`), which are kept.
 */
export async function purgeIdempotencyKeys(conn: PooledConnection, retentionDays: number, batch = 5_000): Promise<number> {
  let purged = 0;
  for (;;) {
    const { affectedRows } = await conn.exec('DELETE FROM idempotency_keys WHERE created_at < NOW() - INTERVAL ? DAY LIMIT ?', [
      retentionDays,
      batch,
    ]);
    purged += affectedRows;
    if (affectedRows < batch) return purged;
  }
}

function requestHash(call: IdempotentCall): Buffer {
  return sha256(canonical({ characterId: call.characterId, operation: call.operation, request: call.request }));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** JSON with object keys sorted, so equal requests hash equally whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
