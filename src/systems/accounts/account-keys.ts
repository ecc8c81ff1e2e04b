import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError, InvalidStateError, NameTakenError, NotFoundError } from '../../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW, isDuplicateKey } from '../../pool/mysql-errors.js';
import { storedLegacyHash, type LegacyHash } from '../../crypto/password.js';
import type { Router } from '../../routing/router.js';

/** The environment variable whose value encrypts private exponents at rest. */
export const LOGIN_KEY_SECRET_ENV = 'MXO_LOGIN_KEY_SECRET';

/** An account's RSA key pair for the login ticket, big-endian unsigned bytes. */
export interface LoginKeys {
  modulus: Uint8Array;
  privateExponent: Uint8Array;
}

/** Stored keys, and whether the private exponent is encrypted at rest. */
export interface StoredLoginKeys {
  modulus: Buffer;
  privateExponent: Buffer;
  encrypted: boolean;
}

/**
 * The AES-256-GCM key derived from MXO_LOGIN_KEY_SECRET (HKDF-SHA256), or undefined when unset.
 * A secret shorter than 16 characters is a ConfigError (too easy to guess).
 */
function secretKey(): Buffer | undefined {
  const secret = process.env[LOGIN_KEY_SECRET_ENV];
  if (secret === undefined || secret === '') return undefined;
  if (secret.length < 16) throw new ConfigError([{ field: LOGIN_KEY_SECRET_ENV, message: 'at least 16 characters' }]);
  return Buffer.from(hkdfSync('sha256', secret, 'mxo-data', 'account_login_keys', 32));
}

/** IV, tag and ciphertext; the account id is authenticated too, so a blob cannot be moved to another account. */
function seal(key: Buffer, accountId: number, plain: Uint8Array): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(`account:${accountId}`));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, accountId: number, blob: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12)).setAAD(Buffer.from(`account:${accountId}`));
  decipher.setAuthTag(blob.subarray(12, 28));
  return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
}

export async function storeLoginKeys(router: Router, accountId: number, keys: LoginKeys): Promise<{ encrypted: boolean }> {
  const key = secretKey();
  const exponent = key ? seal(key, accountId, keys.privateExponent) : Buffer.from(keys.privateExponent);
  try {
    await router.onGlobal('account_store_login_keys', (conn) =>
      conn.exec(
        `INSERT INTO account_login_keys (account_id, modulus, private_exponent, encrypted) VALUES (?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE modulus = VALUES(modulus), private_exponent = VALUES(private_exponent), encrypted = VALUES(encrypted)`,
        [accountId, Buffer.from(keys.modulus), exponent, key !== undefined],
      ),
    );
  } catch (error) {
    if (errnoOf(error) === ER_NO_REFERENCED_ROW) throw new NotFoundError('account', accountId, { cause: error });
    throw error;
  }
  return { encrypted: key !== undefined };
}

export async function readLoginKeys(router: Router, accountId: number): Promise<StoredLoginKeys | null> {
  const [row] = await router.readGlobal('account_login_keys', 'strong', (conn) =>
    conn.rows<{ modulus: Buffer; private_exponent: Buffer; encrypted: number }>(
      'SELECT modulus, private_exponent, encrypted FROM account_login_keys WHERE account_id = ?',
      [accountId],
    ),
  );
  if (!row) return null;
  if (!Number(row.encrypted)) return { modulus: row.modulus, privateExponent: row.private_exponent, encrypted: false };
  const key = secretKey();
  if (!key)
    throw new InvalidStateError(
      'login keys',
      accountId,
      'secret_missing',
      `${LOGIN_KEY_SECRET_ENV} is not set; the private exponent is encrypted`,
    );
  try {
    return { modulus: row.modulus, privateExponent: open(key, accountId, row.private_exponent), encrypted: true };
  } catch (error) {
    throw new InvalidStateError(
      'login keys',
      accountId,
      'undecryptable',
      `the private exponent does not open with this ${LOGIN_KEY_SECRET_ENV}`,
    );
  }
}

/** An account whose password hash comes from an older server; rehashed to scrypt at its next successful login. */
export async function importLegacyAccount(
  router: Router,
  input: { username: string; email: string; legacyHash: LegacyHash },
): Promise<number> {
  const hash = storedLegacyHash(input.legacyHash);
  try {
    return await router.onGlobal('account_import_legacy', async (conn) => {
      const header = await conn.exec('INSERT INTO accounts (username, email, password_hash) VALUES (?, ?, ?)', [
        input.username,
        input.email,
        hash,
      ]);
      const id = Number(header.insertId);
      await conn.exec("INSERT INTO account_security (account_id, salt) VALUES (?, '')", [id]);
      return id;
    });
  } catch (error) {
    if (isDuplicateKey(error, 'username')) throw new NameTakenError('username', input.username, { cause: error });
    if (isDuplicateKey(error, 'email')) throw new NameTakenError('email', input.email, { cause: error });
    throw error;
  }
}
