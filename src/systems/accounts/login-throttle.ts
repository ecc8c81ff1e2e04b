import type { PooledConnection } from '../../pool/pooled-connection.js';

/** Failed logins from one address for one username that lock that pair, and for how long. */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MINUTES = 15;
/** Failed logins from one address (any usernames) that lock the address. */
export const ADDRESS_THRESHOLD = 50;
/**
 * Failed logins for one username from any addresses that lock the account (its owner too) for
 * {@link LOCKOUT_MINUTES}: the bound on guesses spread over many addresses.
 */
export const ACCOUNT_THRESHOLD = 20;

/** The throttle keys of a login: the (username, address) pair, the username, the address. */
export interface ThrottleKeys {
  pair: string;
  account: string;
  address: string;
}

/**
 * The throttle keys of a login. `username` is the account's stored name when it exists, else
 * the name as typed, lower case (the column's collation ignores case); `addressBucket` is the
 * canonical client address (src/auth/client-address.ts: IPv6 by /64). Unknown usernames get keys
 * and answers exactly like known ones.
 */
export function throttleKeys(username: string, addressBucket: string): ThrottleKeys {
  const name = username.toLowerCase();
  return { pair: `u:${name}|${addressBucket}`, account: `n:${name}`, address: `a:${addressBucket}` };
}

function thresholds(keys: ThrottleKeys): Array<[string, number]> {
  // Always this order (pair, account, address): two logins lock their rows in the same order.
  return [
    [keys.pair, LOCKOUT_THRESHOLD],
    [keys.account, ACCOUNT_THRESHOLD],
    [keys.address, ADDRESS_THRESHOLD],
  ];
}

/**
 * Reserves one attempt before the password is checked, in the caller's transaction: each key's
 * row is created or locked (a lockout that ended, or a window older than the lockout period,
 * starts again from zero), and unless one is locked or already holds its threshold of failures
 * (attempts in flight count: a reservation is a failure until the login succeeds), each counts
 * one more failure. Returns false (nothing counted) when the login must answer `locked`. Concurrent
 * logins serialise on the rows, so a burst gets at most the threshold of verifications.
 */
export async function reserveAttempt(conn: PooledConnection, keys: ThrottleKeys): Promise<boolean> {
  const limits = thresholds(keys);
  // One statement creates or resets all three rows and locks them, in the VALUES order.
  await conn.exec(
    `INSERT INTO login_throttle (throttle_key, failures, window_started, locked_until)
       VALUES (?, 0, NOW(), NULL), (?, 0, NOW(), NULL), (?, 0, NOW(), NULL)
     ON DUPLICATE KEY UPDATE
       failures = IF(locked_until <= NOW() OR (locked_until IS NULL AND window_started < NOW() - INTERVAL ? MINUTE), 0, failures),
       window_started = IF(failures = 0, NOW(), window_started),
       locked_until = IF(locked_until <= NOW(), NULL, locked_until)`,
    [...limits.map(([key]) => key), LOCKOUT_MINUTES],
  );
  const rows = await conn.rows<{ throttle_key: string; failures: number; locked: number | null }>(
    'SELECT throttle_key, failures, locked_until > NOW() AS locked FROM login_throttle WHERE throttle_key IN (?, ?, ?) FOR UPDATE',
    limits.map(([key]) => key),
  );
  // The column compares case-insensitively: match the rows the same way. A row not found
  // (it was just written, so never) refuses rather than letting the attempt through uncounted.
  const byKey = new Map(rows.map((r) => [String(r.throttle_key).toLowerCase(), r]));
  const refused = limits.some(([key, threshold]) => {
    const row = byKey.get(key.toLowerCase());
    return !row || Number(row.locked) === 1 || Number(row.failures) >= threshold;
  });
  if (refused) return false;
  await conn.exec('UPDATE login_throttle SET failures = failures + 1 WHERE throttle_key IN (?, ?, ?)', [
    keys.pair,
    keys.account,
    keys.address,
  ]);
  return true;
}

/**
 * The reserved attempt failed: its failure stays counted, and a key at its threshold locks for
 * {@link LOCKOUT_MINUTES} (a lock already running keeps its end).
 */
export async function confirmFailure(conn: PooledConnection, keys: ThrottleKeys): Promise<void> {
  for (const [key, threshold] of thresholds(keys)) {
    await conn.exec(
      `UPDATE login_throttle SET locked_until = IF(locked_until > NOW(), locked_until, IF(failures >= ?, NOW() + INTERVAL ? MINUTE, NULL))
        WHERE throttle_key = ?`,
      [threshold, LOCKOUT_MINUTES, key],
    );
  }
}

/**
 * The reserved attempt did not fail (the password was right): it no longer counts. After a
 * successful login the pair is forgotten, the account and address counters lose this attempt.
 */
export async function releaseAttempt(conn: PooledConnection, keys: ThrottleKeys, options: { clearPair: boolean }): Promise<void> {
  if (options.clearPair) await conn.exec('DELETE FROM login_throttle WHERE throttle_key = ?', [keys.pair]);
  await conn.exec('UPDATE login_throttle SET failures = GREATEST(failures - 1, 0) WHERE throttle_key IN (?, ?, ?)', [
    ...(options.clearPair ? [keys.account] : [keys.pair]),
    keys.account,
    keys.address,
  ]);
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
