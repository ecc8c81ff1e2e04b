import { createHash } from 'node:crypto';
import { IdempotencyKeyReusedError } from '../errors.js';
import { isDuplicateKey } from '../pool/mysql-errors.js';
import type { PooledConnection } from '../pool/pooled-connection.js';

/**
 * The one idempotency contract for calls that move money or items (table `idempotency_keys`,
 * sql/shard/040_idempotency.sql and 100_idempotency_namespace.sql):
 * - a key is namespaced by the acting character and the operation: another character's
 *   identical key is that character's own request;
 * - it is stored with a hash of the request and the first call's result, in the same
 *   transaction as the change, on the character's shard (a call that also writes on global,
 *   such as a treasury move, stores it on the shard branch of its two-phase commit);
 * - the table moves with the character (src/schema/table-registry.ts), so a retry finds its key
 *   wherever the character lives now;
 * - the same request replays the first result; another request under the key is
 *   {@link IdempotencyKeyReusedError}, thrown inside the transaction so nothing is written.
 */
export interface IdempotentCall {
  key: string;
  characterId: number;
  /** At most 32 characters (the column). */
  operation: string;
  /** The request as validated (without the key); hashed in a canonical form (keys sorted). */
  request: unknown;
}

/** The call for `key`, or undefined when the caller sent none (nothing to remember). */
export function keyed(key: string | undefined, characterId: number, operation: string, request: unknown): IdempotentCall | undefined {
  return key === undefined ? undefined : { key, characterId, operation, request };
}

/**
 * The first call's result when the key was used for the same request, undefined when it is new;
 * throws {@link IdempotencyKeyReusedError} when it was used for another request. Call it after
 * the character row is locked (which serialises retries of one character); the key row is
 * locked too.
 */
export async function replayOf<T>(conn: PooledConnection, call: IdempotentCall, lock = 'FOR UPDATE'): Promise<T | undefined> {
  const [row] = await conn.rows<{ request_hash: Buffer; result: string }>(
    `SELECT request_hash, result FROM idempotency_keys WHERE character_id = ? AND operation = ? AND key_hash = ? ${lock}`,
    [call.characterId, call.operation, sha256(call.key)],
  );
  if (!row) return undefined;
  if (!Buffer.from(row.request_hash).equals(requestHash(call))) throw new IdempotencyKeyReusedError(call.key);
  return JSON.parse(row.result) as T;
}

/** Stores the key with the result, in the same transaction as the change. */
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
 * For calls whose result is known before they run (a trade's id): stores the key first, before
 * any other lock, so a concurrent duplicate waits on the key row rather than on the rows the
 * call then locks. Returns undefined when the key was new (the caller goes on), the first
 * result when it was used for the same request; throws {@link IdempotencyKeyReusedError} when
 * it was used for another one.
 */
export async function claim<T>(conn: PooledConnection, call: IdempotentCall, result: T): Promise<T | undefined> {
  try {
    await remember(conn, call, result);
    return undefined;
  } catch (error) {
    if (!isDuplicateKey(error, 'PRIMARY')) throw error;
  }
  // The failed INSERT left a shared lock on the (committed) key row: read it under that lock,
  // not FOR UPDATE, so two duplicates holding it do not deadlock upgrading.
  return replayOf<T>(conn, call, 'LOCK IN SHARE MODE');
}

/**
 * Deletes keys older than `retentionDays` (by the server's clock), in batches so no statement
 * holds many row locks; returns how many went. A retry that comes later than that runs again:
 * keep the retention longer than any client retries.
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
