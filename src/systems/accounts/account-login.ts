import { AuthError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { newSessionToken } from '../../crypto/password.js';
import { activeRestriction, type SecondFactor } from '../shared/account-access.js';
import { releaseAttempt, type ThrottleKeys } from './login-throttle.js';

/** What a login that passed its checks outside the transaction brings into it. */
export interface LoginSuccess {
  row: { account_id: number; password_hash: string };
  factor: SecondFactor;
  /** A fresh hash to store when the old one was weaker than today's parameters. */
  rehash?: { hash: string; salt: string };
  keys: ThrottleKeys;
  ip: string;
  userAgent?: string;
  sessionHours: number;
}

/**
 * The login transaction (global): re-checks that the password did not change since it was
 * verified, refuses banned/suspended accounts, consumes the second factor (a TOTP step only
 * moves forward; a recovery code is removed by compare-and-set), stores a rehash, releases the
 * attempt's throttle reservation (the pair is forgotten) and opens the session.
 */
export async function completeLogin(
  conn: PooledConnection,
  a: LoginSuccess,
): Promise<{ accountId: number; sessionToken: string; expiresAt: Date }> {
  const [now] = await conn.rows<{ password_hash: string; account_status: string; two_factor_last_step: number | null }>(
    `SELECT a.password_hash, a.account_status, s.two_factor_last_step
       FROM accounts a JOIN account_security s ON s.account_id = a.account_id WHERE a.account_id = ? FOR UPDATE`,
    [a.row.account_id],
  );
  // The password changed (reset) between the check and now: the check no longer counts.
  if (!now || now.password_hash !== a.row.password_hash) throw new AuthError('bad_credentials', 'unknown username or wrong password');
  await refuseRestricted(conn, a.row.account_id, now.account_status);
  if (a.factor.kind === 'totp') {
    if (now.two_factor_last_step !== null && Number(now.two_factor_last_step) >= a.factor.step) {
      throw new AuthError('totp_invalid', 'wrong or already used two-factor code');
    }
    await conn.exec('UPDATE account_security SET two_factor_last_step = ? WHERE account_id = ?', [a.factor.step, a.row.account_id]);
  } else if (a.factor.kind === 'recovery') {
    const header = await conn.exec('UPDATE account_security SET recovery_codes = ? WHERE account_id = ? AND recovery_codes = ?', [
      JSON.stringify(a.factor.remaining),
      a.row.account_id,
      JSON.stringify(a.factor.before),
    ]);
    if (header.affectedRows !== 1) throw new AuthError('totp_invalid', 'wrong or already used two-factor code');
  }
  if (a.rehash) {
    await conn.exec('UPDATE accounts SET password_hash = ? WHERE account_id = ?', [a.rehash.hash, a.row.account_id]);
    await conn.exec('UPDATE account_security SET salt = ? WHERE account_id = ?', [a.rehash.salt, a.row.account_id]);
  }
  await releaseAttempt(conn, a.keys, { clearPair: true });
  const { token: sessionToken, digest } = newSessionToken();
  const [{ expires_at }] = (await conn.rows<{ expires_at: Date }>('SELECT NOW() + INTERVAL ? HOUR AS expires_at', [a.sessionHours])) as [
    { expires_at: Date },
  ];
  await conn.exec(
    `UPDATE accounts SET failed_login_attempts = 0, last_login = NOW(), login_count = login_count + 1, last_ip = ?
      WHERE account_id = ?`,
    [a.ip, a.row.account_id],
  );
  await conn.exec('INSERT INTO account_sessions (session_id, account_id, ip_address, user_agent, expires_at) VALUES (?, ?, ?, ?, ?)', [
    digest,
    a.row.account_id,
    a.ip,
    a.userAgent ?? null,
    expires_at,
  ]);
  return { accountId: Number(a.row.account_id), sessionToken, expiresAt: new Date(expires_at) };
}

/**
 * Refuses an account under an active ban or suspension. A status left by a punishment that has
 * since expired is set active again; a status set by hand (no punishment row) still refuses.
 */
async function refuseRestricted(conn: PooledConnection, account: number, status: string): Promise<void> {
  const restriction = await activeRestriction(conn, account);
  if (restriction) {
    const until = restriction.expires ? ` until ${new Date(restriction.expires).toISOString()}` : '';
    throw new AuthError(
      restriction.type === 'ban' ? 'banned' : 'suspended',
      `account is ${restriction.type === 'ban' ? 'banned' : 'suspended'}${until}`,
    );
  }
  if (status === 'banned' || status === 'suspended') {
    const [past] = await conn.rows(
      "SELECT punishment_id FROM account_punishments WHERE account_id = ? AND punishment_type IN ('ban', 'suspension') LIMIT 1",
      [account],
    );
    if (!past) throw new AuthError(status, `account is ${status}`);
    await conn.exec("UPDATE accounts SET account_status = 'active' WHERE account_id = ?", [account]);
  } else if (status !== 'active') {
    throw new AuthError('inactive', `account is ${status}`);
  }
}
