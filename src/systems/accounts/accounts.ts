import { z } from 'zod';
import { AuthError, InvalidStateError, NameTakenError, NotFoundError, OverloadedError } from '../../errors.js';
import { errnoOf, isDuplicateKey } from '../../pool/mysql-errors.js';

import { GLOBAL } from '../../routing/topology.js';
import { shardsInLockOrder } from '../../routing/lock-order.js';
import { parseInput, schemaFor } from '../../validate.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { checkSecondFactor, newRecoveryCodes, type SecondFactor } from '../shared/account-access.js';
import { confirmFailure, purgeThrottle, releaseAttempt, reserveAttempt, throttleKeys, type ThrottleKeys } from './login-throttle.js';
import { completeLogin } from './account-login.js';
import { importLegacyAccount, readLoginKeys, storeLoginKeys, type AtRestOptions } from './account-keys.js';
import { releaseMemberships } from '../shared/memberships.js';
import { matchTotp, newTotpSecret, otpauthUrl } from '../shared/totp.js';
import type { RepoContext } from '../shared/context.js';
import {
  DUMMY_HASH,
  digestToken,
  hashPassword,
  newSessionToken,
  passwordHashingFull,
  passwordHashingStats,
  unwrappedLegacyHash,
  verifyPassword,
  wrapLegacyHash,
  type LegacyHash,
} from '../../crypto/password.js';
import { clientAddressBucket } from '../../auth/client-address.js';
import { isSealedTotpSecret, openTotpSecret, sealTotpSecret } from '../../auth/totp-secret.js';
import {
  accountId,
  adminLevel,
  emailAddress,
  username as usernameSchema,
  legacyInput,
  loginInput,
  loginKeysInput,
  password,
  registerInput,
  token,
  type AccountSummary,
  type LegacyAccountInput,
  type LoginInput,
  type LoginResult,
  type PasswordResetRequest,
  type RegisterInput,
  type TwoFactorSetup,
} from './account-inputs.js';
import type { LoginKeys, StoredLoginKeys } from './account-keys.js';

export type { AccountSummary, LegacyAccountInput, LoginInput, LoginResult, PasswordResetRequest, RegisterInput, TwoFactorSetup };
export type { LoginKeys, StoredLoginKeys, LegacyHash, AtRestOptions };

export { ACCOUNT_THRESHOLD, ADDRESS_THRESHOLD, LOCKOUT_MINUTES, LOCKOUT_THRESHOLD } from './login-throttle.js';
/** A parent row still referenced by a foreign key without ON DELETE (e.g. punishments the account issued). */
const ER_ROW_IS_REFERENCED = 1451;
/** Session lifetime. */
export const SESSION_HOURS = 24;
/** Lifetime of a password reset token. */
export const RESET_MINUTES = 30;

interface AccountRow {
  account_id: number;
  username: string;
  password_hash: string;
  salt: string;
  two_factor_enabled: number;
  two_factor_secret: string | null;
  two_factor_last_step: number | string | null;
  recovery_codes: string | string[] | null;
}

/** Options of a call that stores a secret at rest. */
const atRestOptions = z.object({ allowPlaintext: z.boolean().optional() }).strict();

const SELECT_ACCOUNT = `SELECT a.account_id, a.username, a.password_hash, s.salt, s.two_factor_enabled, s.two_factor_secret,
       s.two_factor_last_step, s.recovery_codes
  FROM accounts a JOIN account_security s ON s.account_id = a.account_id`;

/** Accounts, authentication and sessions (global tier). */
export class Accounts {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Creates an account; the password is stored only as a salted scrypt hash (PHC string). The
   * email is optional (neither MxO emulator keeps one); without it there is no reset by email.
   * @example const { accountId } = await db.accounts.register({ username: 'neo', email: 'neo@zion.example', password: 'there-is-no-spoon' });
   * const { accountId: gm } = await db.accounts.register({ username: 'oracle', password: 'cookies-are-ready' }); // as a console creates it
   */
  async register(input: RegisterInput): Promise<{ accountId: number }> {
    const { username, email, password: plain } = parseInput(registerInput, input, 'register input');
    const { hash, salt } = await hashPassword(plain); // before the transaction: no connection held while hashing
    try {
      const accountId = await this.ctx.router.onGlobal('account_register', async (conn) => {
        const header = await conn.exec('INSERT INTO accounts (username, email, password_hash) VALUES (?, ?, ?)', [
          username,
          email ?? null,
          hash,
        ]);
        const id = Number(header.insertId);
        await conn.exec('INSERT INTO account_security (account_id, salt) VALUES (?, ?)', [id, salt]);
        return id;
      });
      return { accountId };
    } catch (error) {
      if (isDuplicateKey(error, 'username')) throw new NameTakenError('username', username, { cause: error });
      if (isDuplicateKey(error, 'email')) throw new NameTakenError('email', email ?? '', { cause: error });
      throw error;
    }
  }

  /**
   * The account with this username (the column's case-insensitive match), without any secret:
   * no hash, salt, email or keys. Null when there is none. The username is checked with
   * register's rule first (ValidationError naming `username`). Reality's console and margin
   * server look accounts up this way (AuthServer.cpp:477, MarginSocket.cpp:231).
   * @example const neo = await db.accounts.byUsername('neo'); // { accountId, username, status: 'active', createdAt, adminLevel: 0 }
   */
  async byUsername(name: string, options: { consistency?: Consistency } = {}): Promise<AccountSummary | null> {
    const wanted = parseInput(z.object({ username: usernameSchema }).strict(), { username: name }, 'account lookup').username;
    const [row] = await this.ctx.router.readGlobal('account_by_username', consistencyOf(options, 'session'), (conn) =>
      conn.rows<{
        account_id: number;
        username: string;
        account_status: AccountSummary['status'];
        created_date: Date;
        admin_level: number;
      }>('SELECT account_id, username, account_status, created_date, admin_level FROM accounts WHERE username = ?', [wanted]),
    );
    if (!row) return null;
    return {
      accountId: Number(row.account_id),
      username: row.username,
      status: row.account_status,
      createdAt: new Date(row.created_date),
      adminLevel: Number(row.admin_level ?? 0),
    };
  }

  /**
   * Sets an account's password as an operator or server console does (Reality's
   * `AuthServer::ChangePassword`): the same rules as register, stored as scrypt, any pending reset
   * token dropped, the failed-login count cleared, and every session of the account ended in the
   * same transaction. NotFoundError for an unknown account.
   * @example const { sessionsEnded } = await db.accounts.setPassword(accountId, 'a-new-password');
   */
  async setPassword(id: number, newPassword: string): Promise<{ accountId: number; sessionsEnded: number }> {
    const account = parseInput(accountId, id, 'account id');
    const plain = parseInput(z.object({ password }).strict(), { password: newPassword }, 'new password').password;
    const { hash, salt } = await hashPassword(plain); // before the transaction: no connection held while hashing
    return this.ctx.router.onGlobal('account_set_password', async (conn) => {
      const header = await conn.exec('UPDATE accounts SET password_hash = ?, failed_login_attempts = 0 WHERE account_id = ?', [
        hash,
        account,
      ]);
      if (header.affectedRows === 0) throw new NotFoundError('account', account);
      await conn.exec(
        'UPDATE account_security SET salt = ?, password_reset_token = NULL, password_reset_expires = NULL WHERE account_id = ?',
        [salt, account],
      );
      // A login verified against the old hash before this commits is refused by completeLogin's re-check.
      const ended = await conn.exec('DELETE FROM account_sessions WHERE account_id = ?', [account]);
      return { accountId: account, sessionsEnded: ended.affectedRows };
    });
  }

  /**
   * Sets an account's admin level: 0 player, 1..127 moderator/GM (accounts.admin_level, a
   * TINYINT; moderation and the spawn's adminLevel read it). Returns the level before and after.
   * NotFoundError for an unknown account. Also `mxo-data admin-level USERNAME LEVEL`.
   * @example await db.accounts.setAdminLevel(accountId, 1);
   */
  async setAdminLevel(id: number, level: number): Promise<{ accountId: number; previous: number; adminLevel: number }> {
    const account = parseInput(accountId, id, 'account id');
    const wanted = parseInput(z.object({ level: adminLevel }).strict(), { level }, 'admin level').level;
    return this.ctx.router.onGlobal('account_set_admin_level', async (conn) => {
      // Read first: an UPDATE that changes nothing reports 0 affected rows, like an unknown account.
      const [row] = await conn.rows<{ admin_level: number | null }>('SELECT admin_level FROM accounts WHERE account_id = ? FOR UPDATE', [
        account,
      ]);
      if (!row) throw new NotFoundError('account', account);
      await conn.exec('UPDATE accounts SET admin_level = ? WHERE account_id = ?', [wanted, account]);
      return { accountId: account, previous: Number(row.admin_level ?? 0), adminLevel: wanted };
    });
  }

  /**
   * Checks a password (and the second factor once enabled) and opens a session. Unknown
   * usernames and wrong passwords get the same answer for the same work.
   *
   * The throttle reserves before it verifies: one transaction reads the account and counts the
   * attempt as a failure on three keys, the (username, address) pair, the username and the
   * address, unless one of them is locked or already at its limit ({@link LOCKOUT_THRESHOLD} for a
   * pair, {@link ACCOUNT_THRESHOLD} for a username from any addresses, {@link ADDRESS_THRESHOLD}
   * for an address), in which case the answer is `locked` at once, with no scrypt run. Only then
   * does scrypt run (outside any transaction); a success takes the reservation back and forgets
   * the pair, a failure keeps it and locks a key that reached its limit for
   * {@link LOCKOUT_MINUTES} minutes. So a burst for one account gets at most the limit of
   * verifications, attempts in flight included. Addresses are canonical: IPv4-mapped IPv6 as
   * IPv4, other IPv6 by /64. A username with spaces or control characters is a ValidationError
   * (the column's PAD SPACE collation would match `'neo   '` to `neo`). A ban or suspension is
   * refused with reason `banned` / `suspended` (only after the right password). OverloadedError
   * when this process's password hashing queue is full.
   * @example const { sessionToken } = await db.accounts.login({ username: 'neo', password, ip: '10.0.0.1', totp: '123456' });
   */
  async login(input: LoginInput): Promise<LoginResult> {
    const data = parseInput(loginInput, input, 'login input');
    const bucket = clientAddressBucket(data.ip)!; // the schema accepted only IP addresses
    // Refused before anything is counted; a queue that fills after this refuses in verify below.
    if (passwordHashingFull()) throw new OverloadedError('password hashing', passwordHashingStats().queued);
    const { row, keys, reserved } = await this.ctx.router.onGlobal('account_login_reserve', async (conn) => {
      const found = (await conn.rows<AccountRow>(`${SELECT_ACCOUNT} WHERE a.username = ?`, [data.username]))[0];
      // The stored name when the account exists: one key however the collation matched it.
      const k = throttleKeys(found?.username ?? data.username, bucket);
      return { row: found, keys: k, reserved: await reserveAttempt(conn, k) };
    });
    if (!reserved) throw new AuthError('locked', 'too many failed logins; try again later');
    let check: { ok: boolean; needsRehash: boolean };
    try {
      check = await verifyPassword(data.password, row?.password_hash ?? DUMMY_HASH, row?.salt ?? '');
    } catch (error) {
      await this.release(keys); // never checked: it does not count
      throw error;
    }
    let factor: SecondFactor = { kind: 'none' };
    if (row && check.ok && row.two_factor_enabled) {
      if (!data.totp) {
        await this.release(keys); // the password was right; the code comes with the next attempt
        throw new AuthError('totp_required', 'this account needs its two-factor code');
      }
      const secret = row.two_factor_secret === null ? null : openTotpSecret(Number(row.account_id), row.two_factor_secret);
      factor = checkSecondFactor({ ...row, two_factor_secret: secret }, data.totp, Date.now());
    }
    if (!row || !check.ok || factor.kind === 'invalid') {
      await this.ctx.router.onGlobal('account_login_failed', async (conn) => {
        await confirmFailure(conn, keys);
        await conn.exec(
          'UPDATE accounts SET failed_login_attempts = failed_login_attempts + 1, last_failed_login = NOW() WHERE username = ?',
          [data.username],
        );
      });
      if (factor.kind === 'invalid') throw new AuthError('totp_invalid', 'wrong or already used two-factor code');
      throw new AuthError('bad_credentials', 'unknown username or wrong password');
    }
    const rehash = check.needsRehash ? await hashPassword(data.password) : undefined;
    return this.ctx.router.onGlobal('account_login', (conn) =>
      completeLogin(conn, { row, factor, rehash, keys, ip: data.ip, userAgent: data.userAgent, sessionHours: SESSION_HOURS }),
    );
  }

  /** Takes back a login's throttle reservation (the attempt did not fail). */
  private async release(keys: ThrottleKeys): Promise<void> {
    await this.ctx.router.onGlobal('account_login_release', (conn) => releaseAttempt(conn, keys, { clearPair: false }));
  }

  /**
   * The account a session token belongs to; throws AuthError when unknown, expired, or the
   * account is no longer active (banned, suspended).
   * @example const { accountId } = await db.accounts.verifySession(token);
   */
  async verifySession(sessionToken: string): Promise<{ accountId: number; expiresAt: Date }> {
    const digest = digestToken(parseInput(token, sessionToken, 'session token'));
    const row = await this.ctx.router.readGlobal('account_session', 'strong', async (conn) => {
      const rows = await conn.rows<{ account_id: number; expires_at: Date }>(
        `SELECT s.account_id, s.expires_at FROM account_sessions s JOIN accounts a ON a.account_id = s.account_id
          WHERE s.session_id = ? AND s.expires_at > NOW() AND a.account_status = 'active'`,
        [digest],
      );
      return rows[0];
    });
    if (!row) throw new AuthError('session_invalid', 'session token is unknown or expired');
    return { accountId: Number(row.account_id), expiresAt: new Date(row.expires_at) };
  }

  /** Ends a session. @example await db.accounts.logout(token); */
  async logout(sessionToken: string): Promise<void> {
    const digest = digestToken(parseInput(token, sessionToken, 'session token'));
    await this.ctx.router.onGlobal('account_logout', (conn) => conn.exec('DELETE FROM account_sessions WHERE session_id = ?', [digest]));
  }

  /** Ends every session of an account ("log out everywhere"). @example await db.accounts.endAllSessions(accountId); */
  async endAllSessions(id: number): Promise<{ ended: number }> {
    const account = parseInput(accountId, id, 'account id');
    const header = await this.ctx.router.onGlobal('account_end_sessions', (conn) =>
      conn.exec('DELETE FROM account_sessions WHERE account_id = ?', [account]),
    );
    return { ended: header.affectedRows };
  }

  /**
   * Deletes expired sessions and stale login-throttle rows in batches (for the maintenance job).
   * @example const { sessions } = await db.accounts.purgeExpiredSessions();
   */
  async purgeExpiredSessions(options: { batchSize?: number } = {}): Promise<{ sessions: number; throttles: number }> {
    const batch = parseInput(z.number().int().min(1).max(10_000).default(1_000), options.batchSize, 'batchSize');
    let sessions = 0;
    let throttles = 0;
    for (;;) {
      const { s, t } = await this.ctx.router.onGlobal('account_purge_sessions', async (conn) => ({
        s: (await conn.exec(`DELETE FROM account_sessions WHERE expires_at <= NOW() LIMIT ${batch}`)).affectedRows,
        t: await purgeThrottle(conn, batch),
      }));
      sessions += s;
      throttles += t;
      if (s < batch && t < batch) return { sessions, throttles };
    }
  }

  /**
   * Starts a password reset: a random token whose SHA-256 alone is stored, valid
   * {@link RESET_MINUTES} minutes, single use. The caller mails it to the address. Accounts
   * without an email (register/importLegacy without one) never match: `token` is null.
   * @example const { token } = await db.accounts.requestPasswordReset('neo@zion.example');
   */
  async requestPasswordReset(email: string): Promise<PasswordResetRequest> {
    const address = parseInput(emailAddress, email, 'email');
    const { token: resetToken, digest } = newSessionToken();
    return this.ctx.router.onGlobal('account_reset_request', async (conn) => {
      const [{ expires }] = (await conn.rows<{ expires: Date }>('SELECT NOW() + INTERVAL ? MINUTE AS expires', [RESET_MINUTES])) as [
        { expires: Date },
      ];
      const header = await conn.exec(
        `UPDATE account_security s JOIN accounts a ON a.account_id = s.account_id
            SET s.password_reset_token = ?, s.password_reset_expires = ? WHERE a.email = ?`,
        [digest, expires, address],
      );
      return { token: header.affectedRows > 0 ? resetToken : null, expiresAt: new Date(expires) };
    });
  }

  /**
   * Sets a new password with a reset token (once, before it expires) and ends every session
   * of the account. Throws AuthError `reset_invalid` otherwise. The token is looked up before the
   * new password is hashed, so unknown tokens cost no scrypt. Two-factor stays on: a reset proves
   * control of the mailbox, not of the authenticator, so the next login still needs the code
   * (or a recovery code).
   * @example await db.accounts.resetPassword(token, 'a-new-password');
   */
  async resetPassword(resetToken: string, newPassword: string): Promise<{ accountId: number; sessionsEnded: number }> {
    const digest = digestToken(parseInput(token, resetToken, 'reset token'));
    const plain = parseInput(password, newPassword, 'new password');
    const [known] = await this.ctx.router.readGlobal('account_reset_lookup', 'strong', (conn) =>
      conn.rows('SELECT account_id FROM account_security WHERE password_reset_token = ? AND password_reset_expires > NOW()', [digest]),
    );
    if (!known) throw new AuthError('reset_invalid', 'reset token is unknown, used or expired');
    const { hash, salt } = await hashPassword(plain); // outside the transaction, which checks the token again
    return this.ctx.router.onGlobal('account_reset_password', async (conn) => {
      const [row] = await conn.rows<{ account_id: number }>(
        'SELECT account_id FROM account_security WHERE password_reset_token = ? AND password_reset_expires > NOW() FOR UPDATE',
        [digest],
      );
      if (!row) throw new AuthError('reset_invalid', 'reset token is unknown, used or expired');
      await conn.exec('UPDATE accounts SET password_hash = ?, failed_login_attempts = 0 WHERE account_id = ?', [hash, row.account_id]);
      await conn.exec(
        'UPDATE account_security SET salt = ?, password_reset_token = NULL, password_reset_expires = NULL WHERE account_id = ?',
        [salt, row.account_id],
      );
      const ended = await conn.exec('DELETE FROM account_sessions WHERE account_id = ?', [row.account_id]);
      return { accountId: Number(row.account_id), sessionsEnded: ended.affectedRows };
    });
  }

  /**
   * Starts TOTP two-factor (RFC 6238): returns a new secret (also as an otpauth:// URL) and ten
   * single-use recovery codes (stored only as hashes). Two-factor is on only once
   * {@link confirmTwoFactor} got a code from the authenticator, so a mistyped or unscanned secret
   * cannot lock the player out. Calling it again before confirming replaces the pending secret;
   * while two-factor is on it throws InvalidStateError `two_factor_enabled` (disable first). The
   * secret is stored encrypted under MXO_LOGIN_KEY_SECRET; without it this is refused
   * (ConfigError) unless `allowPlaintext`.
   * @example const { secret, otpauthUrl, recoveryCodes } = await db.accounts.enableTwoFactor(accountId);
   */
  async enableTwoFactor(id: number, options: AtRestOptions = {}): Promise<TwoFactorSetup> {
    const account = parseInput(accountId, id, 'account id');
    const secret = newTotpSecret();
    const stored = sealTotpSecret(account, secret, parseInput(atRestOptions, options, 'options'));
    const codes = newRecoveryCodes();
    const username = await this.ctx.router.onGlobal('account_enable_2fa', async (conn) => {
      const [row] = await conn.rows<{ username: string; enabled: number | null }>(
        `SELECT a.username, s.two_factor_enabled AS enabled FROM accounts a JOIN account_security s ON s.account_id = a.account_id
          WHERE a.account_id = ? FOR UPDATE`,
        [account],
      );
      if (!row) throw new NotFoundError('account', account);
      if (Number(row.enabled)) throw new InvalidStateError('account', account, 'two_factor_enabled', 'two-factor is on; disable it first');
      await conn.exec(
        `UPDATE account_security SET two_factor_secret = ?, two_factor_enabled = FALSE, two_factor_last_step = NULL, recovery_codes = ?
          WHERE account_id = ?`,
        [stored, JSON.stringify(codes.hashes), account],
      );
      return row.username;
    });
    return { secret, otpauthUrl: otpauthUrl(secret, username), recoveryCodes: codes.plain };
  }

  /**
   * Turns on the two-factor {@link enableTwoFactor} started, with a current code from the
   * authenticator (which then cannot be used again to log in). AuthError `totp_invalid` for a
   * wrong code; InvalidStateError `two_factor_not_pending` when nothing waits for confirmation.
   * @example await db.accounts.confirmTwoFactor(accountId, '123456');
   */
  async confirmTwoFactor(id: number, code: string): Promise<void> {
    const account = parseInput(accountId, id, 'account id');
    const totp = parseInput(z.string().regex(/^\d{6}$/, '6 digits'), code, 'code');
    await this.ctx.router.onGlobal('account_confirm_2fa', async (conn) => {
      const [row] = await conn.rows<{ secret: string | null; enabled: number | null }>(
        'SELECT two_factor_secret AS secret, two_factor_enabled AS enabled FROM account_security WHERE account_id = ? FOR UPDATE',
        [account],
      );
      if (!row) throw new NotFoundError('account', account);
      if (Number(row.enabled) || row.secret === null)
        throw new InvalidStateError('account', account, 'two_factor_not_pending', 'no two-factor setup waits for confirmation');
      const step = matchTotp(openTotpSecret(account, row.secret), totp, Date.now());
      if (step === undefined) throw new AuthError('totp_invalid', 'wrong two-factor code');
      await conn.exec('UPDATE account_security SET two_factor_enabled = TRUE, two_factor_last_step = ? WHERE account_id = ?', [
        step,
        account,
      ]);
    });
  }

  /** Turns two-factor off and forgets the secret and recovery codes. @example await db.accounts.disableTwoFactor(accountId); */
  async disableTwoFactor(id: number): Promise<void> {
    const account = parseInput(accountId, id, 'account id');
    const header = await this.ctx.router.onGlobal('account_disable_2fa', (conn) =>
      conn.exec(
        `UPDATE account_security SET two_factor_secret = NULL, two_factor_enabled = FALSE, two_factor_last_step = NULL, recovery_codes = NULL
          WHERE account_id = ?`,
        [account],
      ),
    );
    if (header.affectedRows === 0) throw new NotFoundError('account', account);
  }

  /**
   * Stores the account's RSA key pair for the login ticket (replacing any). The private exponent
   * is AES-256-GCM encrypted at rest under MXO_LOGIN_KEY_SECRET (32 bytes, hex or base64); without
   * the secret the store is refused (ConfigError) unless `allowPlaintext` (`encrypted: false`).
   * @example await db.accounts.storeLoginKeys(accountId, { modulus, privateExponent }); // Buffers, big-endian
   */
  async storeLoginKeys(id: number, keys: LoginKeys, options: AtRestOptions = {}): Promise<{ encrypted: boolean }> {
    const account = parseInput(accountId, id, 'account id');
    const opts = parseInput(atRestOptions, options, 'options');
    return storeLoginKeys(this.ctx.router, account, parseInput(loginKeysInput, keys, 'login keys'), opts);
  }

  /**
   * The account's RSA key pair, or null. An encrypted exponent needs the same MXO_LOGIN_KEY_SECRET
   * (InvalidStateError `secret_missing` / `undecryptable` otherwise).
   * @example const { modulus, privateExponent } = (await db.accounts.loginKeys(accountId))!;
   */
  async loginKeys(id: number): Promise<StoredLoginKeys | null> {
    return readLoginKeys(this.ctx.router, parseInput(accountId, id, 'account id'));
  }

  /**
   * Imports an account from an older server with its MD5, salted SHA-1 or Reality hash
   * (`kind: 'reality'`: rajkosto/mxoemu's `users.passwordHash` and `passwordSalt`,
   * SHA1hex(SHA1hex(salt) + SHA1hex(password))), stored wrapped in scrypt (the legacy digest is
   * never at rest); the first successful login replaces it with a plain scrypt hash of the
   * password. The email is optional.
   * @example await db.accounts.importLegacy({ username: 'neo', email: 'neo@zion.example', legacyHash: { kind: 'salted-sha1', hash, salt } });
   * await db.accounts.importLegacy({ username: 'morpheus', legacyHash: { kind: 'reality', hash: row.passwordHash, salt: row.passwordSalt } });
   */
  async importLegacy(input: LegacyAccountInput): Promise<{ accountId: number }> {
    return { accountId: await importLegacyAccount(this.ctx.router, parseInput(legacyInput, input, 'legacy account')) };
  }

  /**
   * Protects secrets stored before issue 23 (a maintenance step, safe to repeat): legacy MD5/SHA-1
   * hashes still stored as is are wrapped in scrypt, TOTP secrets still in plaintext are sealed
   * under MXO_LOGIN_KEY_SECRET (ConfigError when unset and there are any). Each row is replaced
   * only if it did not change meanwhile.
   * @example const { legacyHashesWrapped, totpSecretsSealed } = await db.accounts.protectSecretsAtRest();
   */
  async protectSecretsAtRest(): Promise<{ legacyHashesWrapped: number; totpSecretsSealed: number }> {
    let legacyHashesWrapped = 0;
    let totpSecretsSealed = 0;
    // TOTP first: without the secret this refuses before anything changed.
    const secrets = await this.ctx.router.readGlobal('account_find_plain_totp', 'strong', (conn) =>
      conn.rows<{ account_id: number; two_factor_secret: string }>(
        'SELECT account_id, two_factor_secret FROM account_security WHERE two_factor_secret IS NOT NULL',
      ),
    );
    for (const row of secrets.filter((r) => !isSealedTotpSecret(r.two_factor_secret))) {
      const sealed = sealTotpSecret(Number(row.account_id), row.two_factor_secret);
      const header = await this.ctx.router.onGlobal('account_seal_totp', (conn) =>
        conn.exec('UPDATE account_security SET two_factor_secret = ? WHERE account_id = ? AND two_factor_secret = ?', [
          sealed,
          row.account_id,
          row.two_factor_secret,
        ]),
      );
      totpSecretsSealed += header.affectedRows;
    }
    const hashes = await this.ctx.router.readGlobal('account_find_legacy', 'strong', (conn) =>
      conn.rows<{ account_id: number; password_hash: string }>(
        "SELECT account_id, password_hash FROM accounts WHERE password_hash LIKE '$md5$%' OR password_hash LIKE '$sha1$%'",
      ),
    );
    for (const row of hashes) {
      const legacy = unwrappedLegacyHash(row.password_hash);
      if (!legacy) continue;
      const wrapped = await wrapLegacyHash(legacy); // outside the transaction
      const header = await this.ctx.router.onGlobal('account_wrap_legacy', (conn) =>
        conn.exec('UPDATE accounts SET password_hash = ? WHERE account_id = ? AND password_hash = ?', [
          wrapped,
          row.account_id,
          row.password_hash,
        ]),
      );
      legacyHashesWrapped += header.affectedRows;
    }
    return { legacyHashesWrapped, totpSecretsSealed };
  }

  /**
   * Deletes an account and all its characters on every shard, atomically (two-phase commit
   * over global and the shards that hold its characters). Event records stay.
   * @example await db.accounts.delete(accountId);
   */
  async delete(id: number): Promise<{ deletedCharacters: number }> {
    const account = parseInput(accountId, id, 'account id');
    for (let attempt = 0; ; attempt++) {
      const directory = this.ctx.router.directory;
      const routes = await directory.ofAccount(account);
      const shards = shardsInLockOrder(new Set(routes.map((r) => r.shard)));
      try {
        const { value: deletedCharacters } = await this.ctx.router.onNodes('account_delete', [...shards, GLOBAL], GLOBAL, async (tx) => {
          // Shards first, then global: the same order moves lock in, so the two cannot deadlock.
          for (const shard of shards) {
            const conn = await tx.branch(shard);
            const ids = routes.filter((r) => r.shard === shard).map((r) => r.characterId);
            await conn.exec(`DELETE FROM characters WHERE character_id IN (${ids.map(() => '?').join(',')})`, ids);
          }
          const global = await tx.branch(GLOBAL);
          const [exists] = await global.rows('SELECT account_id FROM accounts WHERE account_id = ? FOR UPDATE', [account]);
          if (!exists) throw new NotFoundError('account', account);
          // The character list must not have changed since it was read (a create or move racing us).
          const locked = await directory.ofAccount(account, global, { lock: true });
          if (routeKey(locked) !== routeKey(routes)) throw new CharacterSetChanged();
          // Memberships first so crew/organization counts and captaincy stay right (FK cascades fire no triggers).
          await releaseMemberships(
            global,
            routes.map((r) => r.characterId),
          );
          // Directory rows, security, sessions and punishments go with the account (FK cascade).
          await global.exec('DELETE FROM accounts WHERE account_id = ?', [account]);
          return routes.length;
        });
        for (const r of routes) directory.invalidate(r.characterId);
        return { deletedCharacters };
      } catch (error) {
        if (error instanceof CharacterSetChanged && attempt < 3) continue;
        if (errnoOf(error) === ER_ROW_IS_REFERENCED) {
          throw new InvalidStateError(
            'account',
            account,
            'referenced',
            `account ${account} is still referenced (e.g. punishments it issued)`,
          );
        }
        throw error;
      }
    }
  }
}

function routeKey(routes: Array<{ characterId: number; shard: string }>): string {
  return routes.map((r) => `${r.characterId}@${r.shard}`).join(',');
}

/** Internal: the account's characters changed while deleting; read them again. */
class CharacterSetChanged extends Error {}
