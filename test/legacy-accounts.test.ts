import { createCipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, InvalidStateError, NameTakenError, NotFoundError, ValidationError } from '../src/index.js';
import { totpCode, totpStep } from '../src/systems/shared/totp.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Accounts as the game has them: legacy MD5 / salted SHA-1 hashes imported wrapped in scrypt and
// rehashed to scrypt at the next successful login; each account's RSA key pair for the login
// ticket and its TOTP secret, encrypted at rest under MXO_LOGIN_KEY_SECRET (refused without it
// unless the caller opts in).
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
  delete process.env.MXO_LOGIN_KEY_SECRET_PREVIOUS;
});
/** A valid secret: 32 random bytes as hex. */
const newSecret = () => randomBytes(32).toString('hex');

describe('legacy password hashes', () => {
  it('logs in with an imported MD5 hash once, which replaces it with scrypt; a wrong password changes nothing', async () => {
    const md5 = createHash('md5').update('bluepill').digest('hex');
    const { accountId } = await t.db.accounts.importLegacy({
      username: 'cypher',
      email: 'cypher@zion.example',
      legacyHash: { kind: 'md5', hash: md5.toUpperCase() },
    });
    // Wrapped at import: scrypt of the digest, never the digest itself.
    const wrapped = await hashOf('cypher');
    expect(wrapped).toMatch(/^\$md5-scrypt\$scrypt\$ln=17,r=8,p=1\$/);
    expect(wrapped).not.toContain(md5);
    await expect(t.db.accounts.login({ username: 'cypher', password: 'redpill', ip: '10.0.0.9' })).rejects.toBeInstanceOf(AuthError);
    expect(await hashOf('cypher')).toBe(wrapped);
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
    expect(await hashOf('mouse2')).toMatch(/^\$sha1-scrypt\$[A-Za-z0-9_-]+\$scrypt\$/);
    expect(await hashOf('mouse2')).not.toContain(sha1);
    await t.db.accounts.login({ username: 'mouse2', password: 'steak-is-juicy', ip: '10.0.0.8' });
    expect(await hashOf('mouse2')).toMatch(/^\$scrypt\$/);
  });

  it('protectSecretsAtRest wraps hashes and seals TOTP secrets stored before, and they keep working', async () => {
    const { accountId } = await t.db.accounts.importLegacy({
      username: 'oldsha',
      email: 'oldsha@zion.example',
      legacyHash: { kind: 'md5', hash: createHash('md5').update('x').digest('hex') },
    });
    const digest = createHash('sha1').update('pepper' + 'oracle-3').digest('hex');
    const before = `$sha1$${Buffer.from('pepper').toString('base64url')}$${digest}`;
    await q('UPDATE accounts SET password_hash = ? WHERE account_id = ?', [before, accountId]);
    const base32 = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await q('UPDATE account_security SET two_factor_secret = ?, two_factor_enabled = TRUE WHERE account_id = ?', [base32, accountId]);

    await expect(t.db.accounts.protectSecretsAtRest()).rejects.toBeInstanceOf(ConfigError); // no secret to seal with
    process.env.MXO_LOGIN_KEY_SECRET = newSecret();
    const done = await t.db.accounts.protectSecretsAtRest();
    expect(done.legacyHashesWrapped).toBeGreaterThanOrEqual(1);
    expect(done.totpSecretsSealed).toBeGreaterThanOrEqual(1);
    expect(await hashOf('oldsha')).toMatch(/^\$sha1-scrypt\$/);
    expect(await hashOf('oldsha')).not.toContain(digest);
    const [sec] = await q('SELECT two_factor_secret FROM account_security WHERE account_id = ?', [accountId]);
    expect(String(sec!.two_factor_secret)).toMatch(/^v2:/);
    expect(await t.db.accounts.protectSecretsAtRest()).toEqual({ legacyHashesWrapped: 0, totpSecretsSealed: 0 });
    const login = { username: 'oldsha', password: 'oracle-3', ip: '10.0.0.6', totp: totpCode(base32, totpStep(Date.now())) };
    expect((await t.db.accounts.login(login)).accountId).toBe(accountId);
  });

  it('still verifies a legacy hash imported before wrapping (stored as is)', async () => {
    const { accountId } = await t.db.accounts.importLegacy({
      username: 'oldmd5',
      email: 'oldmd5@zion.example',
      legacyHash: { kind: 'md5', hash: createHash('md5').update('x').digest('hex') },
    });
    await q('UPDATE accounts SET password_hash = ? WHERE account_id = ?', [`$md5$${createHash('md5').update('oracle-1').digest('hex')}`, accountId]);
    await expect(t.db.accounts.login({ username: 'oldmd5', password: 'oracle-2', ip: '10.0.0.7' })).rejects.toBeInstanceOf(AuthError);
    expect((await t.db.accounts.login({ username: 'oldmd5', password: 'oracle-1', ip: '10.0.0.7' })).accountId).toBe(accountId);
    expect(await hashOf('oldmd5')).toMatch(/^\$scrypt\$/);
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

  it('refuses to store the pair in plaintext without a secret, unless the caller opts in (and says so)', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'plainkeys', email: 'plain@zion.example', password: 'plain-keys-1' });
    expect(await t.db.accounts.loginKeys(accountId)).toBeNull();
    const refused = await t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).issues[0]!.field).toBe('MXO_LOGIN_KEY_SECRET');
    expect(await q('SELECT * FROM account_login_keys WHERE account_id = ?', [accountId])).toEqual([]);
    expect(await t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent }, { allowPlaintext: true })).toEqual({ encrypted: false });
    expect(await t.db.accounts.loginKeys(accountId)).toEqual({ modulus, privateExponent, encrypted: false });
    await expect(t.db.accounts.storeLoginKeys(999_999, { modulus, privateExponent }, { allowPlaintext: true })).rejects.toBeInstanceOf(
      NotFoundError,
    );
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
    const secret = newSecret();
    process.env.MXO_LOGIN_KEY_SECRET = secret;
    expect(await t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent })).toEqual({ encrypted: true });
    const [row] = await q('SELECT modulus, private_exponent, encrypted FROM account_login_keys WHERE account_id = ?', [accountId]);
    expect(row!.encrypted).toBe(2); // today's seal version
    expect(Buffer.from(row!.modulus).equals(modulus)).toBe(true);
    expect(Buffer.from(row!.private_exponent).includes(privateExponent)).toBe(false);
    expect(await t.db.accounts.loginKeys(accountId)).toEqual({ modulus, privateExponent, encrypted: true });

    // The blob moved onto another account does not open.
    await t.db.accounts.storeLoginKeys(other, { modulus, privateExponent });
    await q('UPDATE account_login_keys SET private_exponent = ? WHERE account_id = ?', [row!.private_exponent, other]);
    await expect(t.db.accounts.loginKeys(other)).rejects.toMatchObject({ state: 'undecryptable' });

    process.env.MXO_LOGIN_KEY_SECRET = newSecret();
    await expect(t.db.accounts.loginKeys(accountId)).rejects.toMatchObject({ state: 'undecryptable' });
    delete process.env.MXO_LOGIN_KEY_SECRET;
    await expect(t.db.accounts.loginKeys(accountId)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.accounts.loginKeys(accountId)).rejects.toMatchObject({ state: 'secret_missing' });
    // The secret is 32 bytes (hex or base64), not a passphrase.
    for (const weak of ['short', 'a-long-enough-secret-for-tests', secret.slice(0, 62)]) {
      process.env.MXO_LOGIN_KEY_SECRET = weak;
      await expect(t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent })).rejects.toBeInstanceOf(ConfigError);
    }
    process.env.MXO_LOGIN_KEY_SECRET = Buffer.from(secret, 'hex').toString('base64');
    expect(await t.db.accounts.loginKeys(accountId)).toEqual({ modulus, privateExponent, encrypted: true });
  });

  it('still opens a pair sealed before (key from the secret text), with the old text as MXO_LOGIN_KEY_SECRET_PREVIOUS', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'oldseal', email: 'oldseal@zion.example', password: 'old-seal-1' });
    const passphrase = 'an-old-passphrase-secret';
    const key = Buffer.from(hkdfSync('sha256', passphrase, 'mxo-data', 'account_login_keys', 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(`account:${accountId}`));
    const body = Buffer.concat([cipher.update(privateExponent), cipher.final()]);
    await q('INSERT INTO account_login_keys (account_id, modulus, private_exponent, encrypted) VALUES (?, ?, ?, 1)', [
      accountId,
      modulus,
      Buffer.concat([iv, cipher.getAuthTag(), body]),
    ]);
    process.env.MXO_LOGIN_KEY_SECRET = newSecret();
    process.env.MXO_LOGIN_KEY_SECRET_PREVIOUS = passphrase;
    expect(await t.db.accounts.loginKeys(accountId)).toEqual({ modulus, privateExponent, encrypted: true });
    // Stored again, it is sealed today's way.
    await t.db.accounts.storeLoginKeys(accountId, { modulus, privateExponent });
    delete process.env.MXO_LOGIN_KEY_SECRET_PREVIOUS;
    expect(await t.db.accounts.loginKeys(accountId)).toEqual({ modulus, privateExponent, encrypted: true });
  });
});

describe('TOTP secrets at rest', () => {
  it('stores the secret sealed under MXO_LOGIN_KEY_SECRET; refuses without it unless the caller opts in', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'sealedtotp', email: 'sealedtotp@zion.example', password: 'sealed-totp-1' });
    await expect(t.db.accounts.enableTwoFactor(accountId)).rejects.toBeInstanceOf(ConfigError);
    expect((await q('SELECT two_factor_secret FROM account_security WHERE account_id = ?', [accountId]))[0]!.two_factor_secret).toBeNull();

    process.env.MXO_LOGIN_KEY_SECRET = newSecret();
    const setup = await t.db.accounts.enableTwoFactor(accountId);
    await t.db.accounts.confirmTwoFactor(accountId, totpCode(setup.secret, totpStep(Date.now())));
    // No table on global holds the secret in plaintext.
    const [found] = await q(
      `SELECT COUNT(*) AS n FROM account_security WHERE two_factor_secret LIKE CONCAT('%', ?, '%') OR CAST(recovery_codes AS CHAR) LIKE CONCAT('%', ?, '%')`,
      [setup.secret, setup.secret],
    );
    expect(Number(found!.n)).toBe(0);
    const [stored] = await q('SELECT two_factor_secret FROM account_security WHERE account_id = ?', [accountId]);
    expect(String(stored!.two_factor_secret)).toMatch(/^v2:[A-Za-z0-9_-]+$/);
    // Login checks the code against the sealed secret.
    const base = { username: 'sealedtotp', password: 'sealed-totp-1', ip: '10.0.1.1' };
    await expect(t.db.accounts.login(base)).rejects.toMatchObject({ reason: 'totp_required' });
    const next = totpCode(setup.secret, totpStep(Date.now()) + 1);
    expect((await t.db.accounts.login({ ...base, totp: next })).accountId).toBe(accountId);

    // Opting in stores plaintext (and a row stored that way, or before sealing, still works).
    delete process.env.MXO_LOGIN_KEY_SECRET;
    const { accountId: plain } = await t.db.accounts.register({ username: 'plaintotp', email: 'plaintotp@zion.example', password: 'plain-totp-1' });
    const open = await t.db.accounts.enableTwoFactor(plain, { allowPlaintext: true });
    expect((await q('SELECT two_factor_secret FROM account_security WHERE account_id = ?', [plain]))[0]!.two_factor_secret).toBe(open.secret);
    await t.db.accounts.confirmTwoFactor(plain, totpCode(open.secret, totpStep(Date.now())));
  });
});
