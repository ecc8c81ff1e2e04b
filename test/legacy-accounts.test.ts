import { createHash, randomBytes } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, InvalidStateError, NameTakenError, NotFoundError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Accounts as the game has them: legacy MD5 / salted SHA-1 hashes imported and rehashed to scrypt
// at the next successful login; each account's RSA key pair for the login ticket, the private
// exponent encrypted at rest when MXO_LOGIN_KEY_SECRET is set.
let t: TestCluster;
const q = async (sql: string, params: unknown[] = []) => (await (await t.sql('global-primary')).query<RowDataPacket[]>(sql, params))[0];
const hashOf = async (username: string) =>
  String((await q('SELECT password_hash FROM accounts WHERE username = ?', [username]))[0]!.password_hash);

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());
afterEach(() => {
  delete process.env.MXO_LOGIN_KEY_SECRET;
});

describe('legacy password hashes', () => {
  it('logs in with an imported MD5 hash once, which replaces it with scrypt; a wrong password changes nothing', async () => {
    const md5 = createHash('md5').update('bluepill').digest('hex');
    const { accountId } = await t.db.accounts.importLegacy({
      username: 'cypher',
      email: 'cypher@zion.example',
      legacyHash: { kind: 'md5', hash: md5.toUpperCase() },
    });
    expect(await hashOf('cypher')).toBe(`$md5$${md5}`);
    await expect(t.db.accounts.login({ username: 'cypher', password: 'redpill', ip: '10.0.0.9' })).rejects.toBeInstanceOf(AuthError);
    expect(await hashOf('cypher')).toBe(`$md5$${md5}`);
    expect((await t.db.accounts.login({ username: 'cypher', password: 'bluepill', ip: '10.0.0.9' })).accountId).toBe(accountId);
    expect(await hashOf('cypher')).toMatch(/^\$scrypt\$ln=17,/);
    expect((await t.db.accounts.login({ username: 'cypher', password: 'bluepill', ip: '10.0.0.9' })).accountId).toBe(accountId);
    await expect(t.db.accounts.login({ username: 'cypher', password: 'redpill', ip: '10.0.0.9' })).rejects.toBeInstanceOf(AuthError);
  });

  it('checks a salted SHA-1 as SHA-1(salt + password) and rehashes it', async () => {
    const salt = 'x9$Zq';
    const sha1 = createHash('sha1')
      .update(salt + 'steak-is-juicy')
      .digest('hex');
    await t.db.accounts.importLegacy({
      username: 'mouse2',
      email: 'mouse2@zion.example',
      legacyHash: { kind: 'salted-sha1', hash: sha1, salt },
    });
    // The same digest under another salt is another password.
    await t.db.accounts.importLegacy({
      username: 'switch2',
      email: 'switch2@zion.example',
      legacyHash: { kind: 'salted-sha1', hash: sha1, salt: 'other' },
    });
    await expect(t.db.accounts.login({ username: 'switch2', password: 'steak-is-juicy', ip: '10.0.0.8' })).rejects.toBeInstanceOf(
      AuthError,
    );
    await t.db.accounts.login({ username: 'mouse2', password: 'steak-is-juicy', ip: '10.0.0.8' });
    expect(await hashOf('mouse2')).toMatch(/^\$scrypt\$/);
  });

  it('validates imports and refuses taken names', async () => {
    const hash = createHash('md5').update('x').digest('hex');
    await expect(
      t.db.accounts.importLegacy({ username: 'apoc', email: 'apoc@zion.example', legacyHash: { kind: 'md5', hash: 'zz' } }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      t.db.accounts.importLegacy({
        username: 'apoc',
        email: 'apoc@zion.example',
        legacyHash: { kind: 'salted-sha1', hash: hash + '00000000' } as never,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      t.db.accounts.importLegacy({ username: 'cypher', email: 'c2@zion.example', legacyHash: { kind: 'md5', hash } }),
    ).rejects.toBeInstanceOf(NameTakenError);
    expect((await q("SELECT COUNT(*) AS n FROM accounts WHERE username = 'apoc'"))[0]!.n).toBe(0);
  });
});

describe('login keys', () => {
  const modulus = randomBytes(128);
  const privateExponent = randomBytes(128);

  it('stores the pair as is without a secret (and says so)', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'plainkeys', email: 'plain@zion.example', password: 'plain-keys-1' });
    expect(await t.db.accounts.loginKeys(accountId)).toBeNull();
    expect(await t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent })).toEqual({ encrypted: false });
    expect(await t.db.accounts.loginKeys(accountId)).toEqual({ modulus, privateExponent, encrypted: false });
    await expect(t.db.accounts.storeLoginKeys(999_999, { modulus, privateExponent })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.accounts.storeLoginKeys(accountId, { modulus: Buffer.alloc(0), privateExponent })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('encrypts the private exponent with MXO_LOGIN_KEY_SECRET, bound to its account', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'sealedkeys', email: 'sealed@zion.example', password: 'sealed-keys-1' });
    const { accountId: other } = await t.db.accounts.register({
      username: 'otherkeys',
      email: 'other@zion.example',
      password: 'other-keys-1',
    });
    process.env.MXO_LOGIN_KEY_SECRET = 'a-long-enough-secret-for-tests';
    expect(await t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent })).toEqual({ encrypted: true });
    const [row] = await q('SELECT modulus, private_exponent, encrypted FROM account_login_keys WHERE account_id = ?', [accountId]);
    expect(row!.encrypted).toBe(1);
    expect(Buffer.from(row!.modulus).equals(modulus)).toBe(true);
    expect(Buffer.from(row!.private_exponent).includes(privateExponent)).toBe(false);
    expect(await t.db.accounts.loginKeys(accountId)).toEqual({ modulus, privateExponent, encrypted: true });

    // The blob moved onto another account does not open.
    await t.db.accounts.storeLoginKeys(other, { modulus, privateExponent });
    await q('UPDATE account_login_keys SET private_exponent = ? WHERE account_id = ?', [row!.private_exponent, other]);
    await expect(t.db.accounts.loginKeys(other)).rejects.toMatchObject({ state: 'undecryptable' });

    process.env.MXO_LOGIN_KEY_SECRET = 'another-secret-entirely';
    await expect(t.db.accounts.loginKeys(accountId)).rejects.toMatchObject({ state: 'undecryptable' });
    delete process.env.MXO_LOGIN_KEY_SECRET;
    await expect(t.db.accounts.loginKeys(accountId)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.accounts.loginKeys(accountId)).rejects.toMatchObject({ state: 'secret_missing' });
    process.env.MXO_LOGIN_KEY_SECRET = 'short';
    await expect(t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent })).rejects.toBeInstanceOf(ConfigError);
  });
});
