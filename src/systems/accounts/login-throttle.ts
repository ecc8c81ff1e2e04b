import type { PooledConnection } from '../../pool/pooled-connection.js';

/** Failed logins from one address for one username that lock that pair, and for how long. */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MINUTES = 15;
/** Failed logins from one address (any usernames) that lock the address. */
export const ADDRESS_THRESHOLD = 50;

/**
 * The throttle keys of a login: the (username, address) pair and the address alone. The
 * username is taken as typed (lower case: the column's collation ignores case), known or not,
 * so the throttle behaves identically for usernames that do not exist.
 */
export function throttleKeys(username: string, ip: string): { pair: string; address: string } {
  return { pair: `u:${username.toLowerCase()}|${ip}`, address: `a:${ip}` };
}

/** True when either key is locked now (by the database's clock). */
export async function isThrottled(conn: PooledConnection, keys: { pair: string; address: string }): Promise<boolean> {
  const rows = await conn.rows<{ locked: number }>(
    'SELECT locked_until > NOW() AS locked FROM login_throttle WHERE throttle_key IN (?, ?)',
    [keys.pair, keys.address],
  );
  return rows.some((r) => Number(r.locked) === 1);
}

/**
 * Counts a failure on both keys. A key whose lockout has ended, or whose window is older than
 * the lockout period, starts again from one (so one failure after a lockout does not re-lock).
 * Assignments run left to right, so `locked_until` sees the new `failures`.
 */
export async function recordFailure(conn: PooledConnection, keys: { pair: string; address: string }): Promise<void> {
  for (const [key, threshold] of [
    [keys.pair, LOCKOUT_THRESHOLD],
    [keys.address, ADDRESS_THRESHOLD],
  ] as const) {
    await conn.exec(
      `INSERT INTO login_throttle (throttle_key, failures, window_started, locked_until)
         VALUES (?, 1, NOW(), IF(1 >= ?, NOW() + INTERVAL ? MINUTE, NULL))
       ON DUPLICATE KEY UPDATE
         failures = IF(locked_until <= NOW() OR (locked_until IS NULL AND window_started < NOW() - INTERVAL ? MINUTE), 1, failures + 1),
         window_started = IF(failures = 1, NOW(), window_started),
         locked_until = IF(locked_until > NOW(), locked_until, IF(failures >= ?, NOW() + INTERVAL ? MINUTE, NULL))`,
      [key, threshold, LOCKOUT_MINUTES, LOCKOUT_MINUTES, threshold, LOCKOUT_MINUTES],
    );
  }
}

/** A successful login clears its (username, address) pair; the address counter stays. */
export async function clearPair(conn: PooledConnection, keys: { pair: string }): Promise<void> {
  await conn.exec('DELETE FROM login_throttle WHERE throttle_key = ?', [keys.pair]);
}

/** Deletes throttle rows that are neither locked nor inside their window. */
export async function purgeThrottle(conn: PooledConnection, limit: number): Promise<number> {
  const header = await conn.exec(
    `DELETE FROM login_throttle
      WHERE (locked_until IS NULL OR locked_until <= NOW()) AND window_started < NOW() - INTERVAL ? MINUTE
      LIMIT ${limit}`,
    [LOCKOUT_MINUTES],
  );
  return header.affectedRows;
}
