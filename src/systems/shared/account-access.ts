import { createHash, randomBytes } from 'node:crypto';
import { AuthError } from '../../errors.js';
import { base32Encode, matchTotp } from './totp.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';

/** What the second factor of a login turned out to be. */
export type SecondFactor =
  { kind: 'none' } | { kind: 'invalid' } | { kind: 'totp'; step: number } | { kind: 'recovery'; before: string[]; remaining: string[] };

/** Recovery codes as stored: SHA-256 of the code without dashes, upper case. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(code.replace(/-/g, '').toUpperCase()).digest('hex');
}

/** Ten new recovery codes (`XXXXX-XXXXX`, 50 random bits each) and their hashes. */
export function newRecoveryCodes(count = 10): { plain: string[]; hashes: string[] } {
  const plain = Array.from({ length: count }, () => {
    const text = base32Encode(randomBytes(7)).slice(0, 10);
    return `${text.slice(0, 5)}-${text.slice(5)}`;
  });
  return { plain, hashes: plain.map(hashRecoveryCode) };
}

/**
 * Checks a login's second factor against the account's secret (a TOTP code within one step of
 * `atMs`, not at or before the last step used) or its recovery codes (each works once).
 */
export function checkSecondFactor(
  row: { two_factor_secret: string | null; two_factor_last_step: number | string | null; recovery_codes: string | string[] | null },
  code: string,
  atMs: number,
): SecondFactor {
  if (row.two_factor_secret) {
    const step = matchTotp(row.two_factor_secret, code, atMs);
    const last = row.two_factor_last_step === null ? -1 : Number(row.two_factor_last_step);
    if (step !== undefined) return step > last ? { kind: 'totp', step } : { kind: 'invalid' };
  }
  const before = parseCodes(row.recovery_codes);
  const hash = hashRecoveryCode(code);
  if (!before.includes(hash)) return { kind: 'invalid' };
  return { kind: 'recovery', before, remaining: before.filter((h) => h !== hash) };
}

function parseCodes(value: string | string[] | null): string[] {
  if (value === null) return [];
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
}

/** The account's ban or suspension in force now (a ban wins), by the database's clock. */
export async function activeRestriction(
  conn: PooledConnection,
  accountId: number,
): Promise<{ punishmentId: number; type: 'ban' | 'suspension'; expires: Date | null } | undefined> {
  const [row] = await conn.rows<{ punishment_id: number; punishment_type: 'ban' | 'suspension'; expires_date: Date | null }>(
    `SELECT punishment_id, punishment_type, expires_date FROM account_punishments
      WHERE account_id = ? AND is_active = TRUE AND punishment_type IN ('ban', 'suspension')
        AND (expires_date IS NULL OR expires_date > NOW())
      ORDER BY punishment_type = 'ban' DESC, expires_date IS NULL DESC, expires_date DESC LIMIT 1`,
    [accountId],
  );
  return row ? { punishmentId: Number(row.punishment_id), type: row.punishment_type, expires: row.expires_date } : undefined;
}

/**
 * Throws AuthError `banned` / `suspended` when the character's account is under a ban or
 * suspension now: a banned player's character cannot be claimed or handed into the world.
 */
export async function refuseRestrictedCharacter(global: PooledConnection, characterId: number): Promise<void> {
  const [owner] = await global.rows<{ account_id: number }>('SELECT account_id FROM character_directory WHERE character_id = ?', [
    characterId,
  ]);
  const restriction = owner ? await activeRestriction(global, Number(owner.account_id)) : undefined;
  if (restriction) {
    const banned = restriction.type === 'ban';
    throw new AuthError(banned ? 'banned' : 'suspended', `account ${owner!.account_id} is ${banned ? 'banned' : 'suspended'}`);
  }
}

/**
 * Ends the account's presence at once (a ban or suspension): its live claims expire now (the
 * holder's heartbeat and fenced writes fail; releaseExpired sets them offline) and its unused
 * handoff tickets expire too.
 */
export async function endAccountPresence(global: PooledConnection, accountId: number): Promise<void> {
  await global.exec(
    `UPDATE presence_claims pc JOIN character_directory cd ON cd.character_id = pc.character_id
        SET pc.expires_at = NOW(6)
      WHERE cd.account_id = ? AND pc.server_id IS NOT NULL AND pc.expires_at > NOW(6)`,
    [accountId],
  );
  await global.exec(
    'UPDATE presence_handoffs SET expires_at = NOW(6) WHERE account_id = ? AND consumed_at IS NULL AND expires_at > NOW(6)',
    [accountId],
  );
}

/** True when the account has an active mute now. */
export async function isMuted(conn: PooledConnection, accountId: number): Promise<Date | null | false> {
  const [row] = await conn.rows<{ expires_date: Date | null }>(
    `SELECT expires_date FROM account_punishments
      WHERE account_id = ? AND is_active = TRUE AND punishment_type = 'mute' AND (expires_date IS NULL OR expires_date > NOW())
      ORDER BY expires_date IS NULL DESC, expires_date DESC LIMIT 1`,
    [accountId],
  );
  return row ? row.expires_date : false;
}

/**
 * The account status that matches its punishments now: `banned` / `suspended` while one is in
 * force, else `active` (a status set by a punishment that has expired or was lifted).
 */
export async function syncAccountStatus(conn: PooledConnection, accountId: number): Promise<string> {
  const restriction = await activeRestriction(conn, accountId);
  const status = restriction ? (restriction.type === 'ban' ? 'banned' : 'suspended') : 'active';
  await conn.exec("UPDATE accounts SET account_status = ? WHERE account_id = ? AND account_status IN ('active', 'banned', 'suspended')", [
    status,
    accountId,
  ]);
  return status;
}
