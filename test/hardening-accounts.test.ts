import { randomBytes, scryptSync } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, OverloadedError, ValidationError } from '../src/index.js';
import { clientAddressBucket } from '../src/auth/client-address.js';
import {
  configurePasswordHashing,
  DUMMY_HASH,
  hashPassword,
  passwordHashingStats,
  verifyPassword,
  wrapLegacyHash,
} from '../src/crypto/password.js';
import { createHash } from 'node:crypto';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Issue 23, the account side: the login throttle reserves before it verifies (H1), unknown reset
// tokens cost no scrypt and hashing is a bounded queue (M9), no verify path is faster than the
// dummy an unknown account gets (low).
let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 1, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());
afterEach(() => configurePasswordHashing({ concurrency: 2, maxQueued: 128 }));

async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [r] = await (await t.sql('global-primary')).query<RowDataPacket[]>(sql, params);
  return r;
}

/** The AuthError reason a call ends with, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => {
      if (e instanceof AuthError) return e.reason;
      throw e;
    },
  );
}

const verifications = () => passwordHashingStats().verifications;

describe('login throttle: reserve before verify (H1)', () => {
  it('30 concurrent wrong passwords for one account from one address: at most 5 verified, the rest locked', async () => {
    await t.db.accounts.register({ username: 'burst', email: 'burst@zion.example', password: 'burst-pass-1' });
    const before = verifications();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => outcome(t.db.accounts.login({ username: 'burst', password: `guess-${i}-x`, ip: '203.0.113.7' }))),
    );
    const verified = verifications() - before;
    expect(verified).toBeLessThanOrEqual(5);
    expect(answers.filter((a) => a === 'bad_credentials')).toHaveLength(verified);
    expect(answers.filter((a) => a === 'locked')).toHaveLength(30 - verified);
    // The right password from that address is locked too, without a verification.
    const again = verifications();
    expect(await outcome(t.db.accounts.login({ username: 'burst', password: 'burst-pass-1', ip: '203.0.113.7' }))).toBe('locked');
    expect(verifications()).toBe(again);
  }, 120_000);

  it('rotating 1,000 IPv6 addresses of one /64 does not lift the limit', async () => {
    await t.db.accounts.register({ username: 'sixer', email: 'sixer@zion.example', password: 'sixer-pass-1' });
    const before = verifications();
    const answers: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, (_, j) => {
            const n = batch * 50 + j;
            const ip = `2001:db8:77:1:${(n >> 8).toString(16)}:${(n & 255).toString(16)}:${n.toString(16)}:1`;
            return outcome(t.db.accounts.login({ username: 'sixer', password: `guess-${n}-x`, ip }));
          }),
        )),
      );
      expect(verifications() - before).toBeLessThanOrEqual(5); // stop early on code that lets them through
    }
    expect(answers.filter((a) => a === 'locked').length).toBeGreaterThanOrEqual(995);
    // The same /64 written another way is the same bucket; another /64 is not locked.
    expect(await outcome(t.db.accounts.login({ username: 'sixer', password: 'x-x-x-x', ip: '2001:0db8:0077:0001::ffff' }))).toBe('locked');
    expect(await outcome(t.db.accounts.login({ username: 'sixer', password: 'sixer-pass-1', ip: '2001:db8:77:2::1' }))).toBe('ok');
  }, 120_000);

  it("refuses 'neo   ' (PAD SPACE would match neo) and keys other spellings on the stored name", async () => {
    await t.db.accounts.register({ username: 'padded', email: 'padded@zion.example', password: 'padded-pass-1' });
    const before = verifications();
    for (const username of ['padded   ', ' padded', 'pad ded', 'padded\t']) {
      await expect(t.db.accounts.login({ username, password: 'padded-pass-1', ip: '10.23.0.1' })).rejects.toBeInstanceOf(ValidationError);
    }
    expect(verifications()).toBe(before); // refused before any SQL or scrypt
    // Upper case matches the account (case-insensitive column) and shares its keys.
    for (let i = 0; i < 5; i++) await outcome(t.db.accounts.login({ username: 'PADDED', password: `nope-${i}-x`, ip: '10.23.0.2' }));
    expect(await outcome(t.db.accounts.login({ username: 'padded', password: 'padded-pass-1', ip: '10.23.0.2' }))).toBe('locked');
  }, 120_000);

  it('limits one account from many addresses (20 failures) and counts IPv4-mapped IPv6 as IPv4', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'spread', email: 'spread@zion.example', password: 'spread-pass-1' });
    // 15 failures from 15 addresses already counted (each would be one scrypt here), then 5 more from 5 others.
    await rows("INSERT INTO login_throttle (throttle_key, failures, window_started) VALUES ('n:spread', 15, NOW())");
    await rows('UPDATE accounts SET failed_login_attempts = 15 WHERE account_id = ?', [accountId]);
    for (let i = 0; i < 5; i++) {
      expect(await outcome(t.db.accounts.login({ username: 'spread', password: `nope-${i}-x`, ip: `198.51.100.${i + 1}` }))).toBe(
        'bad_credentials',
      );
    }
    const before = verifications();
    expect(await outcome(t.db.accounts.login({ username: 'spread', password: 'spread-pass-1', ip: '192.0.2.200' }))).toBe('locked');
    expect(verifications()).toBe(before);
    const [row] = await rows('SELECT failed_login_attempts FROM accounts WHERE account_id = ?', [accountId]);
    expect(row!.failed_login_attempts).toBe(20);

    await t.db.accounts.register({ username: 'mapped', email: 'mapped@zion.example', password: 'mapped-pass-1' });
    for (let i = 0; i < 5; i++) await outcome(t.db.accounts.login({ username: 'mapped', password: `nope-${i}-x`, ip: '192.0.2.77' }));
    expect(await outcome(t.db.accounts.login({ username: 'mapped', password: 'mapped-pass-1', ip: '::ffff:192.0.2.77' }))).toBe('locked');
    expect(await outcome(t.db.accounts.login({ username: 'mapped', password: 'mapped-pass-1', ip: '::ffff:c000:24d' }))).toBe('locked');
  }, 120_000);

  it('a successful login takes its reservation back (many logins from one address stay unlocked)', async () => {
    await t.db.accounts.register({ username: 'regular', email: 'regular@zion.example', password: 'regular-pass-1' });
    for (let i = 0; i < 8; i++) await t.db.accounts.login({ username: 'regular', password: 'regular-pass-1', ip: '10.24.0.1' });
    const keys = await rows("SELECT throttle_key, failures FROM login_throttle WHERE throttle_key IN ('n:regular', 'a:10.24.0.1')");
    expect(keys.map((r) => Number(r.failures))).toEqual([0, 0]);
  }, 120_000);

  it('canonical address buckets', () => {
    expect(clientAddressBucket('10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddressBucket('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddressBucket('::FFFF:a00:1')).toBe('10.0.0.1');
    expect(clientAddressBucket('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientAddressBucket('2001:DB8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientAddressBucket('::1')).toBe('0:0:0:0::/64');
    expect(clientAddressBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientAddressBucket('not-an-address')).toBeUndefined();
    expect(clientAddressBucket('10.0.0.256')).toBeUndefined();
  });
});

describe('pre-authentication CPU (M9)', () => {
  it('200 resetPassword calls with a bogus token finish in about the time of one scrypt; logins keep answering', async () => {
    await t.db.accounts.register({ username: 'resetee', email: 'resetee@zion.example', password: 'resetee-pass-1' });
    let started = performance.now();
    await hashPassword('one-measured-scrypt');
    const oneScrypt = performance.now() - started;
    const hashes = passwordHashingStats().hashes;
    started = performance.now();
    const login = t.db.accounts.login({ username: 'resetee', password: 'resetee-pass-1', ip: '10.25.0.1' });
    const resets = await Promise.all(
      Array.from({ length: 200 }, (_, i) => outcome(t.db.accounts.resetPassword(`bogus-token-${i}`, 'a-new-password-1'))),
    );
    const elapsed = performance.now() - started;
    expect(resets.every((r) => r === 'reset_invalid')).toBe(true);
    expect(passwordHashingStats().hashes).toBe(hashes); // not one scrypt for an unknown token
    expect((await login).sessionToken).toBeTruthy();
    // Before the fix 200 scrypts ran (about 50x one on four libuv threads); the room is for a busy machine.
    expect(elapsed / oneScrypt).toBeLessThan(8);
  }, 120_000);

  it('hashing is a bounded queue: past it a call is refused with OverloadedError at once, a login counts nothing', async () => {
    configurePasswordHashing({ concurrency: 1, maxQueued: 2 });
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => hashPassword(`queued-${i}-pass`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(r.reason).toBeInstanceOf(OverloadedError);

    // Full before the login starts: refused before its reservation (no throttle row at all).
    configurePasswordHashing({ concurrency: 1, maxQueued: 0 });
    let holding = hashPassword('holds-the-only-slot');
    await expect(t.db.accounts.login({ username: 'resetee', password: 'wrong-one-x', ip: '10.25.0.2' })).rejects.toBeInstanceOf(
      OverloadedError,
    );
    await holding;
    expect(await rows("SELECT * FROM login_throttle WHERE throttle_key = 'u:resetee|10.25.0.2'")).toEqual([]);

    // Full by the time it verifies (two logins pass the check, one place left): the refused one's reservation is taken back.
    configurePasswordHashing({ concurrency: 1, maxQueued: 1 });
    holding = hashPassword('holds-the-only-slot');
    const two = await Promise.allSettled(
      ['10.25.0.3', '10.25.0.4'].map((ip) => t.db.accounts.login({ username: 'resetee', password: 'wrong-two-x', ip })),
    );
    await holding;
    const kinds = two.map((r) => (r.status === 'rejected' ? (r.reason as Error).constructor.name : 'ok')).sort();
    expect(kinds).toEqual(['AuthError', 'OverloadedError']);
    const counted = await rows(
      "SELECT throttle_key FROM login_throttle WHERE throttle_key IN ('u:resetee|10.25.0.3', 'u:resetee|10.25.0.4') AND failures > 0",
    );
    expect(counted).toHaveLength(1); // only the attempt that was verified
  }, 120_000);
});

describe('no verify path is faster than the dummy (low: enumeration by timing)', () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  async function timed(stored: string, salt = ''): Promise<number> {
    const started = performance.now();
    await verifyPassword('some-guess-1', stored, salt);
    return performance.now() - started;
  }

  it('an old N=2^14 hash and a wrapped legacy hash take about as long as the dummy', async () => {
    const salt = randomBytes(16);
    const old = scryptSync('old-password-1', salt, 64, { N: 16384, r: 8, p: 1 }).toString('hex');
    const wrapped = await wrapLegacyHash({ kind: 'md5', hash: createHash('md5').update('x').digest('hex') });
    const dummy: number[] = [];
    const older: number[] = [];
    const legacy: number[] = [];
    for (let i = 0; i < 3; i++) {
      dummy.push(await timed(DUMMY_HASH));
      older.push(await timed(old, salt.toString('hex')));
      legacy.push(await timed(wrapped));
    }
    // Before: the old hash took about 1/8 of the dummy.
    expect(median(older) / median(dummy)).toBeGreaterThan(0.7);
    expect(median(legacy) / median(dummy)).toBeGreaterThan(0.7);
  }, 120_000);
});
