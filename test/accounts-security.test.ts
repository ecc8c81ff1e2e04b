import { randomBytes, scryptSync } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, InvalidStateError, ValidationError } from '../src/index.js';
import { matchTotp, totpCode, totpStep } from '../src/systems/shared/totp.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Login hardening (issue 9) and account security (issue 12) against real servers.
let t: TestCluster;

const GLOBAL_POOL = 4;

beforeAll(async () => {
  t = await startTestCluster({ shards: 1, replicasPerShard: 0, config: { pool: { max: GLOBAL_POOL } } });
});
afterAll(async () => t?.stop());

async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [r] = await (await t.sql('global-primary')).query<RowDataPacket[]>(sql, params);
  return r;
}

async function authReason(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return (error as AuthError).reason;
}

describe('login', () => {
  it('stores a PHC scrypt hash with N >= 2^17 and verifies it', async () => {
    const { accountId } = await t.db.accounts.register({
      username: 'trinity',
      email: 'trinity@zion.example',
      password: 'follow-the-rabbit',
    });
    const [row] = await rows('SELECT password_hash FROM accounts WHERE account_id = ?', [accountId]);
    expect(row!.password_hash).toMatch(/^\$scrypt\$ln=(1[7-9]|20),r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    const login = await t.db.accounts.login({ username: 'trinity', password: 'follow-the-rabbit', ip: '10.0.0.1' });
    expect(login.accountId).toBe(accountId);
    expect((await t.db.accounts.verifySession(login.sessionToken)).accountId).toBe(accountId);
  });

  it('accepts an old hex hash (N=2^14) and rehashes it to the current cost at login', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'legacy', email: 'legacy@zion.example', password: 'placeholder-1' });
    const salt = randomBytes(16);
    const key = scryptSync('old-password-1'.normalize('NFKC'), salt, 64, { N: 16384, r: 8, p: 1 });
    await rows('UPDATE accounts SET password_hash = ? WHERE account_id = ?', [key.toString('hex'), accountId]);
    await rows('UPDATE account_security SET salt = ? WHERE account_id = ?', [salt.toString('hex'), accountId]);
    await t.db.accounts.login({ username: 'legacy', password: 'old-password-1', ip: '10.0.0.2' });
    const [row] = await rows('SELECT password_hash FROM accounts WHERE account_id = ?', [accountId]);
    expect(row!.password_hash).toMatch(/^\$scrypt\$ln=17,/);
    await t.db.accounts.login({ username: 'legacy', password: 'old-password-1', ip: '10.0.0.2' }); // the new hash works
    expect(await authReason(t.db.accounts.login({ username: 'legacy', password: 'wrong-password', ip: '10.0.0.2' }))).toBe(
      'bad_credentials',
    );
  });

  it('answers an unknown username exactly like a wrong password, in similar time', async () => {
    await t.db.accounts.register({ username: 'switch', email: 'switch@zion.example', password: 'not-like-this' });
    const time = async (username: string) => {
      const started = performance.now();
      const error = (await t.db.accounts.login({ username, password: 'guess-123', ip: '10.1.0.1' }).catch((e: unknown) => e)) as AuthError;
      return { ms: performance.now() - started, reason: error.reason, message: error.message };
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      const k = await time('switch');
      const u = await time('no-such-user');
      expect(u.reason).toBe(k.reason);
      expect(u.message).toBe(k.message);
      known.push(k.ms);
      unknown.push(u.ms);
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
    const ratio = median(unknown) / median(known);
    // Without the dummy hash a miss costs ~1/50 of a hit; the band only absorbs scheduling noise.
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
    // The failure path writes the same throttle rows for both.
    const throttle = await rows(
      "SELECT throttle_key, failures FROM login_throttle WHERE throttle_key LIKE 'u:%|10.1.0.1' ORDER BY throttle_key",
    );
    expect(throttle.map((r) => [r.throttle_key, r.failures])).toEqual([
      ['u:no-such-user|10.1.0.1', 5],
      ['u:switch|10.1.0.1', 5],
    ]);
  });

  it('locks a (username, address) pair after 5 failures, not the account for other addresses', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'mouse', email: 'mouse@zion.example', password: 'red-dress-123' });
    for (let i = 0; i < 5; i++) {
      expect(await authReason(t.db.accounts.login({ username: 'mouse', password: 'nope-nope', ip: '66.6.6.6' }))).toBe('bad_credentials');
    }
    // The attacker's address is locked, even with the right password ...
    expect(await authReason(t.db.accounts.login({ username: 'mouse', password: 'red-dress-123', ip: '66.6.6.6' }))).toBe('locked');
    // ... an unknown username is locked the same way (no hint that "mouse" exists) ...
    for (let i = 0; i < 5; i++)
      await t.db.accounts.login({ username: 'nobody-here', password: 'nope-nope', ip: '66.6.6.6' }).catch(() => {});
    expect(await authReason(t.db.accounts.login({ username: 'nobody-here', password: 'x', ip: '66.6.6.6' }))).toBe('locked');
    // ... and the owner, from their own address, still gets in.
    const ok = await t.db.accounts.login({ username: 'mouse', password: 'red-dress-123', ip: '10.9.9.9' });
    expect(ok.accountId).toBe(accountId);
  });

  it('starts counting again when a lockout ends (one failure after it does not re-lock)', async () => {
    await t.db.accounts.register({ username: 'apoc', email: 'apoc@zion.example', password: 'apoc-pass-1' });
    for (let i = 0; i < 5; i++) await t.db.accounts.login({ username: 'apoc', password: 'bad-bad-1', ip: '10.2.0.1' }).catch(() => {});
    expect(await authReason(t.db.accounts.login({ username: 'apoc', password: 'apoc-pass-1', ip: '10.2.0.1' }))).toBe('locked');
    // The lockout ends (moved into the past on the database's clock).
    await rows("UPDATE login_throttle SET locked_until = NOW() - INTERVAL 1 SECOND WHERE throttle_key = 'u:apoc|10.2.0.1'");
    expect(await authReason(t.db.accounts.login({ username: 'apoc', password: 'bad-bad-1', ip: '10.2.0.1' }))).toBe('bad_credentials');
    const [row] = await rows("SELECT failures, locked_until FROM login_throttle WHERE throttle_key = 'u:apoc|10.2.0.1'");
    expect(row).toMatchObject({ failures: 1, locked_until: null });
    await t.db.accounts.login({ username: 'apoc', password: 'apoc-pass-1', ip: '10.2.0.1' });
    expect(await rows("SELECT * FROM login_throttle WHERE throttle_key = 'u:apoc|10.2.0.1'")).toEqual([]);
  });

  it('hashes outside the transaction: a burst of logins on a small pool leaves other global calls free', async () => {
    // Four accounts, six logins each: one account's attempts in flight count against its limit (20).
    for (let a = 0; a < 4; a++) await t.db.accounts.register({ username: `dozer${a}`, email: `dozer${a}@zion.example`, password: 'dozer-pass-1' });
    const probe = await t.db.accounts.login({ username: 'dozer0', password: 'dozer-pass-1', ip: '10.3.0.1' });
    const burst = 24; // 6x the global pool (hashing runs 2 at a time per process: 12 rounds of scrypt)
    let settled = 0;
    const logins = Array.from({ length: burst }, (_, i) =>
      t.db.accounts.login({ username: `dozer${i % 4}`, password: 'dozer-pass-1', ip: `10.3.1.${i}` }).finally(() => settled++),
    );
    // Global calls are not starved of connections: they finish while the burst is still hashing.
    for (let i = 0; i < 5; i++) await t.db.accounts.verifySession(probe.sessionToken);
    expect(settled).toBeLessThan(burst / 2);
    const results = await Promise.all(logins);
    expect(new Set(results.map((r) => r.sessionToken)).size).toBe(burst);
  }, 120_000);

  it('validates input before any SQL', async () => {
    await expect(t.db.accounts.login({ username: '', password: 'x', ip: '1' })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.accounts.login({ username: 'a', password: 'x', ip: '1'.repeat(46) })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.accounts.login({ username: 'a', password: 'x', ip: 'localhost' })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.accounts.resetPassword('x', 'short')).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.accounts.endAllSessions(0)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('sessions', () => {
  it('refuses the session of an account that is no longer active', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'cypher', email: 'cypher@zion.example', password: 'ignorance-1' });
    const { sessionToken } = await t.db.accounts.login({ username: 'cypher', password: 'ignorance-1', ip: '10.4.0.1' });
    await rows("UPDATE accounts SET account_status = 'suspended' WHERE account_id = ?", [accountId]);
    expect(await authReason(t.db.accounts.verifySession(sessionToken))).toBe('session_invalid');
    // A status set by hand (no punishment row) also refuses login.
    expect(await authReason(t.db.accounts.login({ username: 'cypher', password: 'ignorance-1', ip: '10.4.0.1' }))).toBe('suspended');
  });

  it('ends every session of an account and purges expired ones', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'tank', email: 'tank@zion.example', password: 'operator-1' });
    const a = await t.db.accounts.login({ username: 'tank', password: 'operator-1', ip: '10.5.0.1' });
    await t.db.accounts.login({ username: 'tank', password: 'operator-1', ip: '10.5.0.2' });
    expect(await t.db.accounts.endAllSessions(accountId)).toEqual({ ended: 2 });
    expect(await authReason(t.db.accounts.verifySession(a.sessionToken))).toBe('session_invalid');

    const live = await t.db.accounts.login({ username: 'tank', password: 'operator-1', ip: '10.5.0.1' });
    await rows(
      "INSERT INTO account_sessions (session_id, account_id, ip_address, expires_at) VALUES ('expired-1', ?, '1.1.1.1', NOW() - INTERVAL 1 MINUTE), ('expired-2', ?, '1.1.1.1', NOW() - INTERVAL 1 DAY)",
      [accountId, accountId],
    );
    const purged = await t.db.accounts.purgeExpiredSessions({ batchSize: 1 });
    expect(purged.sessions).toBeGreaterThanOrEqual(2);
    expect(await rows("SELECT session_id FROM account_sessions WHERE session_id LIKE 'expired-%'")).toEqual([]);
    expect((await t.db.accounts.verifySession(live.sessionToken)).accountId).toBe(accountId);
  });
});

describe('password reset', () => {
  it('stores only a hash, works once, ends every session, and expires', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'niobe', email: 'niobe@zion.example', password: 'logos-pilot-1' });
    const session = await t.db.accounts.login({ username: 'niobe', password: 'logos-pilot-1', ip: '10.6.0.1' });
    expect((await t.db.accounts.requestPasswordReset('nobody@zion.example')).token).toBeNull();
    const { token } = await t.db.accounts.requestPasswordReset('niobe@zion.example');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [stored] = await rows('SELECT password_reset_token FROM account_security WHERE account_id = ?', [accountId]);
    expect(stored!.password_reset_token).not.toBe(token);
    expect(stored!.password_reset_token).toMatch(/^[0-9a-f]{64}$/);

    expect(await t.db.accounts.resetPassword(token!, 'new-logos-pass')).toEqual({ accountId, sessionsEnded: 1 });
    expect(await authReason(t.db.accounts.verifySession(session.sessionToken))).toBe('session_invalid');
    expect(await authReason(t.db.accounts.resetPassword(token!, 'another-pass-1'))).toBe('reset_invalid');
    expect(await authReason(t.db.accounts.login({ username: 'niobe', password: 'logos-pilot-1', ip: '10.6.0.1' }))).toBe('bad_credentials');
    await t.db.accounts.login({ username: 'niobe', password: 'new-logos-pass', ip: '10.6.0.1' });

    const second = await t.db.accounts.requestPasswordReset('niobe@zion.example');
    await rows('UPDATE account_security SET password_reset_expires = NOW() - INTERVAL 1 SECOND WHERE account_id = ?', [accountId]);
    expect(await authReason(t.db.accounts.resetPassword(second.token!, 'another-pass-1'))).toBe('reset_invalid');
  });
});

describe('two-factor (TOTP, RFC 6238)', () => {
  it('matches the RFC 6238 SHA-1 test vectors at fixed times', () => {
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
    const vectors: Array<[number, string]> = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) expect(totpCode(secret, totpStep(seconds * 1000), 8)).toBe(code);
    // One step of drift either way is accepted, two are not.
    const at = 1111111109_000;
    expect(matchTotp(secret, totpCode(secret, totpStep(at) - 1), at)).toBe(totpStep(at) - 1);
    expect(matchTotp(secret, totpCode(secret, totpStep(at) + 2), at)).toBeUndefined();
  });

  it('asks for the code once enabled, refuses a wrong or replayed code, and takes each recovery code once', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'seraph', email: 'seraph@zion.example', password: 'guardian-123' });
    const setup = await t.db.accounts.enableTwoFactor(accountId, { allowPlaintext: true });
    expect(setup.otpauthUrl).toContain(`secret=${setup.secret}`);
    expect(setup.recoveryCodes).toHaveLength(10);
    const [sec] = await rows('SELECT two_factor_enabled, recovery_codes FROM account_security WHERE account_id = ?', [accountId]);
    expect(sec!.two_factor_enabled).toBe(0); // pending until a code confirms it
    expect(JSON.stringify(sec!.recovery_codes)).not.toContain(setup.recoveryCodes[0]!);
    const base = { username: 'seraph', password: 'guardian-123', ip: '10.7.0.1' };
    await t.db.accounts.login(base); // not on yet
    const first = totpCode(setup.secret, totpStep(Date.now()));
    const wrongFirst = String((Number(first) + 1) % 1_000_000).padStart(6, '0');
    expect(await authReason(t.db.accounts.confirmTwoFactor(accountId, wrongFirst))).toBe('totp_invalid');
    await t.db.accounts.login(base); // still not on
    await t.db.accounts.confirmTwoFactor(accountId, first);
    await expect(t.db.accounts.confirmTwoFactor(accountId, first)).rejects.toMatchObject({ state: 'two_factor_not_pending' });
    await expect(t.db.accounts.enableTwoFactor(accountId, { allowPlaintext: true })).rejects.toBeInstanceOf(InvalidStateError);

    expect(await authReason(t.db.accounts.login(base))).toBe('totp_required');
    expect(await authReason(t.db.accounts.login({ ...base, totp: first }))).toBe('totp_invalid'); // the confirming code is used
    const code = totpCode(setup.secret, totpStep(Date.now()) + 1);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    expect(await authReason(t.db.accounts.login({ ...base, totp: wrong }))).toBe('totp_invalid');
    const ok = await t.db.accounts.login({ ...base, totp: code });
    expect(ok.accountId).toBe(accountId);
    expect(await authReason(t.db.accounts.login({ ...base, totp: code }))).toBe('totp_invalid'); // replay
    // A wrong code with the wrong password is just bad credentials (no hint that 2FA is on).
    expect(await authReason(t.db.accounts.login({ ...base, password: 'nope-nope', totp: code }))).toBe('bad_credentials');

    const recovery = setup.recoveryCodes[3]!;
    await t.db.accounts.login({ ...base, totp: recovery.toLowerCase() });
    expect(await authReason(t.db.accounts.login({ ...base, totp: recovery }))).toBe('totp_invalid');
    const [after] = await rows('SELECT JSON_LENGTH(recovery_codes) AS n FROM account_security WHERE account_id = ?', [accountId]);
    expect(Number(after!.n)).toBe(9);

    await t.db.accounts.disableTwoFactor(accountId);
    await t.db.accounts.login(base);
  });

  it('a password reset keeps two-factor on: the mailbox alone does not get past the code', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'ghost', email: 'ghost@zion.example', password: 'ghost-pass-12' });
    const setup = await t.db.accounts.enableTwoFactor(accountId, { allowPlaintext: true });
    await t.db.accounts.confirmTwoFactor(accountId, totpCode(setup.secret, totpStep(Date.now())));
    const { token } = await t.db.accounts.requestPasswordReset('ghost@zion.example');
    await t.db.accounts.resetPassword(token!, 'taken-over-pass');
    const base = { username: 'ghost', password: 'taken-over-pass', ip: '10.7.0.2' };
    expect(await authReason(t.db.accounts.login(base))).toBe('totp_required');
    await t.db.accounts.login({ ...base, totp: totpCode(setup.secret, totpStep(Date.now()) + 1) });
  });
});
