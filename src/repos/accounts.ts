import { z } from 'zod';
import { AuthError, NameTakenError, NotFoundError } from '../errors.js';
import { isDuplicateKey } from '../pool/mysql-errors.js';
import { GLOBAL } from '../routing/topology.js';
import { parseInput } from '../validate.js';
import type { RepoContext } from './context.js';
import { digestToken, hashPassword, newSessionToken, verifyPassword } from './password.js';

/** Failed logins in a row that lock an account, and for how long. */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MINUTES = 15;
/** Session lifetime. */
export const SESSION_HOURS = 24;

const registerInput = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9_.-]{3,32}$/, '3-32 letters, digits, _, . or -'),
    // Deliberately lenient (something@somewhere): a stricter rule rejects real addresses.
    email: z
      .string()
      .max(255)
      .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address'),
    password: z.string().min(8, 'at least 8 characters').max(128),
  })
  .strict();

const loginInput = z
  .object({
    username: z.string().min(1).max(32),
    password: z.string().min(1).max(128),
    ip: z.string().min(1).max(45),
    userAgent: z.string().max(512).optional(),
  })
  .strict();

const accountId = z.number().int().positive();

export interface LoginResult {
  accountId: number;
  sessionToken: string;
  expiresAt: Date;
}

interface AccountRow {
  account_id: number;
  password_hash: string;
  salt: string;
  account_status: string;
  failed_login_attempts: number;
  last_failed_login: Date | null;
}

/** A salt for unknown usernames, so a miss costs the same scrypt work as a hit. */
const DUMMY = { hash: '00'.repeat(64), salt: '00'.repeat(16) };

/** Accounts, authentication and sessions (global tier). */
export class Accounts {
  constructor(private readonly ctx: RepoContext) {}

  /** Creates an account; the password is stored only as a salted scrypt hash. */
  async register(input: { username: string; email: string; password: string }): Promise<{ accountId: number }> {
    const { username, email, password } = parseInput(registerInput, input, 'register input');
    const { hash, salt } = await hashPassword(password);
    try {
      const accountId = await this.ctx.router.onGlobal('account_register', async (conn) => {
        const header = await conn.exec('INSERT INTO accounts (username, email, password_hash) VALUES (?, ?, ?)', [username, email, hash]);
        const id = Number(header.insertId);
        await conn.exec('INSERT INTO account_security (account_id, salt) VALUES (?, ?)', [id, salt]);
        return id;
      });
      return { accountId };
    } catch (error) {
      if (isDuplicateKey(error, 'username')) throw new NameTakenError('username', username, { cause: error });
      if (isDuplicateKey(error, 'email')) throw new NameTakenError('email', email, { cause: error });
      throw error;
    }
  }

  /**
   * Checks a password and opens a session. After {@link LOCKOUT_THRESHOLD} failures in a row the
   * account refuses logins for {@link LOCKOUT_MINUTES} minutes, even with the right password.
   * The token is returned once; only its SHA-256 is stored.
   */
  async login(input: { username: string; password: string; ip: string; userAgent?: string }): Promise<LoginResult> {
    const { username, password, ip, userAgent } = parseInput(loginInput, input, 'login input');
    const result = await this.ctx.router.onGlobal('account_login', async (conn) => {
      const [row] = await conn.rows<AccountRow>(
        `SELECT a.account_id, a.password_hash, s.salt, a.account_status, a.failed_login_attempts, a.last_failed_login
           FROM accounts a JOIN account_security s ON s.account_id = a.account_id
          WHERE a.username = ? FOR UPDATE`,
        [username],
      );
      const ok = await verifyPassword(password, row?.password_hash ?? DUMMY.hash, row?.salt ?? DUMMY.salt);
      if (!row) return { error: new AuthError('bad_credentials', 'unknown username or wrong password') };
      const lockedUntil = row.last_failed_login ? new Date(row.last_failed_login).getTime() + LOCKOUT_MINUTES * 60_000 : 0;
      if (row.failed_login_attempts >= LOCKOUT_THRESHOLD && Date.now() < lockedUntil) {
        return { error: new AuthError('locked', `account locked after ${LOCKOUT_THRESHOLD} failed logins; try again later`) };
      }
      if (!ok) {
        await conn.exec(
          'UPDATE accounts SET failed_login_attempts = failed_login_attempts + 1, last_failed_login = NOW() WHERE account_id = ?',
          [row.account_id],
        );
        return { error: new AuthError('bad_credentials', 'unknown username or wrong password') };
      }
      if (row.account_status !== 'active') {
        return { error: new AuthError('inactive', `account is ${row.account_status}`) };
      }
      const { token, digest } = newSessionToken();
      const expiresAt = new Date(Date.now() + SESSION_HOURS * 3_600_000);
      await conn.exec(
        `UPDATE accounts SET failed_login_attempts = 0, last_login = NOW(), login_count = login_count + 1, last_ip = ?
          WHERE account_id = ?`,
        [ip, row.account_id],
      );
      await conn.exec('INSERT INTO account_sessions (session_id, account_id, ip_address, user_agent, expires_at) VALUES (?, ?, ?, ?, ?)', [
        digest,
        row.account_id,
        ip,
        userAgent ?? null,
        expiresAt,
      ]);
      return { value: { accountId: Number(row.account_id), sessionToken: token, expiresAt } };
    });
    // The failure counter must be committed, so the error is thrown only after COMMIT.
    if ('error' in result) throw result.error;
    return result.value;
  }

  /** The account a session token belongs to; throws AuthError when unknown or expired. */
  async verifySession(sessionToken: string): Promise<{ accountId: number; expiresAt: Date }> {
    const token = parseInput(z.string().min(1).max(256), sessionToken, 'session token');
    const row = await this.ctx.router.readGlobal('account_session', 'strong', async (conn) => {
      const rows = await conn.rows<{ account_id: number; expires_at: Date }>(
        'SELECT account_id, expires_at FROM account_sessions WHERE session_id = ? AND expires_at > NOW()',
        [digestToken(token)],
      );
      return rows[0];
    });
    if (!row) throw new AuthError('session_invalid', 'session token is unknown or expired');
    return { accountId: Number(row.account_id), expiresAt: new Date(row.expires_at) };
  }

  /** Ends a session. */
  async logout(sessionToken: string): Promise<void> {
    const token = parseInput(z.string().min(1).max(256), sessionToken, 'session token');
    await this.ctx.router.onGlobal('account_logout', (conn) =>
      conn.exec('DELETE FROM account_sessions WHERE session_id = ?', [digestToken(token)]),
    );
  }

  /**
   * Deletes an account and all its characters on every shard, atomically (two-phase commit
   * over global and the shards that hold its characters). Event records stay.
   */
  async delete(id: number): Promise<{ deletedCharacters: number }> {
    const account = parseInput(accountId, id, 'account id');
    for (let attempt = 0; ; attempt++) {
      const directory = this.ctx.router.directory;
      const routes = await directory.ofAccount(account);
      const shards = [...new Set(routes.map((r) => r.shard))].sort();
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
          // Directory rows, security, sessions and punishments go with the account (FK cascade).
          await global.exec('DELETE FROM accounts WHERE account_id = ?', [account]);
          return routes.length;
        });
        for (const r of routes) directory.invalidate(r.characterId);
        return { deletedCharacters };
      } catch (error) {
        if (error instanceof CharacterSetChanged && attempt < 3) continue;
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
