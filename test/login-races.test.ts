/**
 * Logins raced deterministically (issue 26): two logins with the same TOTP code or the same
 * recovery code both pass the checks made outside the transaction, then wait on the account row
 * held by hand; once it is let go, exactly one may succeed. And the per-address lock: 50 failed
 * logins from one address, spread over usernames that never reach their own pair's limit, lock
 * the address for every username, and no other address.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '../src/index.js';
import { totpCode, totpStep } from '../src/systems/shared/totp.js';
import { confirmFailure, reserveAttempt, throttleKeys } from '../src/systems/accounts/login-throttle.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;

beforeAll(async () => {
  // The two logins reach the held row one scrypt apart (derivations queue on a busy machine):
  // the first must still be waiting when the second arrives.
  t = await startTestCluster({
    shards: 1,
    replicasPerShard: 0,
    config: { pool: { lockWaitTimeoutSec: 60 }, twoPhase: { statementTimeoutMs: 90_000 } },
  });
}, 120_000);
afterAll(async () => t?.stop());

const rows = async (conn: Connection, sql: string, params: unknown[] = []) => (await conn.query<RowDataPacket[]>(sql, params))[0];

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (error) {
    if (error instanceof AuthError) return error.reason;
    throw error;
  }
}

/**
 * Holds the account's row (FOR UPDATE, on a connection of its own) while `race` starts its
 * logins, lets it go once `waiters` application sessions wait for a lock (so every login has passed its
 * checks outside the transaction), and returns how each login ended.
 */
async function raceUnderHeldAccount(accountId: number, waiters: number, race: () => Array<Promise<unknown>>): Promise<string[]> {
  const holder = await t.sql('global-primary');
  const probe = await t.sql('global-primary');
  await holder.query('BEGIN');
  await rows(holder, 'SELECT account_id FROM accounts WHERE account_id = ? FOR UPDATE', [accountId]);
  let logins: Array<Promise<string>> = [];
  try {
    logins = race().map(reasonOf);
    for (let i = 0; ; i++) {
      // Application sessions stuck in a statement for a second or more: waiting on a lock (the
      // held row, or each other's). INNODB_TRX does not list every waiter of a join as LOCK WAIT.
      const [w] = await rows(
        probe,
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'mxo_app' AND INFO IS NOT NULL AND TIME >= 1",
      );
      if (Number(w!.n) >= waiters) break;
      if (i > 1_000) throw new Error('the logins never reached the held row');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await holder.query('COMMIT');
  }
  return (await Promise.all(logins)).sort();
}

/**
 * Turns two-factor on (pending, then confirmed with the previous step's code, so the current
 * step's code is still unused for the race).
 */
async function enableTwoFactor(accountId: number) {
  const setup = await t.db.accounts.enableTwoFactor(accountId, { allowPlaintext: true });
  await t.db.accounts.confirmTwoFactor(accountId, totpCode(setup.secret, totpStep(Date.now()) - 1));
  return setup;
}

describe('second factor under concurrent logins', () => {
  it('the same TOTP code in two logins at once: one succeeds, the other is a replay', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'twin', email: 'twin@zion.example', password: 'twin-pass-123' });
    const { secret } = await enableTwoFactor(accountId);
    // Far from a step boundary, so both logins compute the same step.
    while (Date.now() % 30_000 > 20_000) await new Promise((r) => setTimeout(r, 250));
    const code = totpCode(secret, totpStep(Date.now()));
    const login = (ip: string) => t.db.accounts.login({ username: 'twin', password: 'twin-pass-123', ip, totp: code });
    expect(await raceUnderHeldAccount(accountId, 2, () => [login('10.7.0.1'), login('10.7.0.2')])).toEqual(['ok', 'totp_invalid']);
  });

  it('the same recovery code in two logins at once: it is taken once', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'spare', email: 'spare@zion.example', password: 'spare-pass-123' });
    const { recoveryCodes } = await enableTwoFactor(accountId);
    const login = (ip: string) => t.db.accounts.login({ username: 'spare', password: 'spare-pass-123', ip, totp: recoveryCodes[0]! });
    expect(await raceUnderHeldAccount(accountId, 2, () => [login('10.8.0.1'), login('10.8.0.2')])).toEqual(['ok', 'totp_invalid']);
    const global = await t.sql('global-primary');
    const [left] = await rows(global, 'SELECT JSON_LENGTH(recovery_codes) AS n FROM account_security WHERE account_id = ?', [accountId]);
    expect(Number(left!.n)).toBe(recoveryCodes.length - 1);
  });
});

describe('the per-address lock', () => {
  it('50 failures from one address over many usernames lock the address for every username, not other addresses', async () => {
    await t.db.accounts.register({ username: 'owner', email: 'owner@zion.example', password: 'owner-pass-123' });
    // 46 failures counted by the login's own throttle code (no scrypt each), then 3 real ones, each
    // from another username: no (username, address) pair comes near its own limit of 5.
    const global = t.db.pools().find((p) => p.identity.name === 'global-primary')!;
    for (let i = 0; i < 46; i++) {
      const keys = throttleKeys(`spray${i}`, '66.1.1.1');
      await global.use('test_throttle', async (conn) => {
        expect(await reserveAttempt(conn, keys)).toBe(true);
        await confirmFailure(conn, keys);
      });
    }
    for (let i = 46; i < 49; i++) {
      expect(await reasonOf(t.db.accounts.login({ username: `spray${i}`, password: 'guess-123', ip: '66.1.1.1' }))).toBe('bad_credentials');
    }
    // The 49th failure left the address open: the right password still gets in.
    expect(await reasonOf(t.db.accounts.login({ username: 'owner', password: 'owner-pass-123', ip: '66.1.1.1' }))).toBe('ok');
    expect(await reasonOf(t.db.accounts.login({ username: 'spray-last', password: 'guess-123', ip: '66.1.1.1' }))).toBe('bad_credentials');
    // The 50th locked it: the right password of an account never tried from there is refused ...
    expect(await reasonOf(t.db.accounts.login({ username: 'owner', password: 'owner-pass-123', ip: '66.1.1.1' }))).toBe('locked');
    expect(await reasonOf(t.db.accounts.login({ username: 'nobody-at-all', password: 'x', ip: '66.1.1.1' }))).toBe('locked');
    // ... and from any other address it works.
    expect(await reasonOf(t.db.accounts.login({ username: 'owner', password: 'owner-pass-123', ip: '66.1.1.2' }))).toBe('ok');
  });
});
