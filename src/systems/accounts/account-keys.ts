import { ConfigError, InvalidStateError, NameTakenError, NotFoundError } from '../../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW, isDuplicateKey } from '../../pool/mysql-errors.js';
import { wrapLegacyHash, type LegacyHash } from '../../crypto/password.js';
import { atRestKey, openSealed, seal, SealedSecretError, SEAL_VERSION, SECRET_ENV } from '../../crypto/secret-box.js';
import type { Router } from '../../routing/router.js';

/** The environment variable whose value encrypts private exponents (and TOTP secrets) at rest. */
export const LOGIN_KEY_SECRET_ENV = SECRET_ENV;

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

/** Options of a store that could put a secret at rest. */
export interface AtRestOptions {
  /** Store in plaintext when MXO_LOGIN_KEY_SECRET is unset (otherwise that is refused with ConfigError). */
  allowPlaintext?: boolean;
}

/** ConfigError for a secret that would be stored in plaintext without the caller's consent. */
export function plaintextRefused(what: string): ConfigError {
  return new ConfigError([
    { field: SECRET_ENV, message: `not set: refusing to store ${what} in plaintext (pass { allowPlaintext: true } to accept that)` },
  ]);
}

/**
 * Stores the pair; `account_login_keys.encrypted` is the seal version (0 plaintext, 1 the old
 * text-derived key, 2 today's). Without the secret it is refused unless `allowPlaintext`.
 */
export async function storeLoginKeys(
  router: Router,
  accountId: number,
  keys: LoginKeys,
  options: AtRestOptions = {},
): Promise<{ encrypted: boolean }> {
  const key = atRestKey('account_login_keys');
  if (!key && !options.allowPlaintext) throw plaintextRefused('the private exponent');
  const exponent = key ? seal(key, `account:${accountId}`, keys.privateExponent) : Buffer.from(keys.privateExponent);
  try {
    await router.onGlobal('account_store_login_keys', (conn) =>
      conn.exec(
        `INSERT INTO account_login_keys (account_id, modulus, private_exponent, encrypted) VALUES (?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE modulus = VALUES(modulus), private_exponent = VALUES(private_exponent), encrypted = VALUES(encrypted)`,
        [accountId, Buffer.from(keys.modulus), exponent, key ? SEAL_VERSION : 0],
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
  const version = Number(row.encrypted);
  if (!version) return { modulus: row.modulus, privateExponent: row.private_exponent, encrypted: false };
  try {
    return {
      modulus: row.modulus,
      privateExponent: openSealed('account_login_keys', version, `account:${accountId}`, row.private_exponent),
      encrypted: true,
    };
  } catch (error) {
    if (!(error instanceof SealedSecretError)) throw error;
    if (error.why === 'missing')
      throw new InvalidStateError(
        'login keys',
        accountId,
        'secret_missing',
        `${LOGIN_KEY_SECRET_ENV} is not set; the private exponent is encrypted`,
      );
    throw new InvalidStateError(
      'login keys',
      accountId,
      'undecryptable',
      `the private exponent does not open with this ${LOGIN_KEY_SECRET_ENV}`,
    );
  }
}

/**
 * An account whose password hash comes from an older server, stored wrapped in scrypt (the
 * legacy digest is never at rest); rehashed to plain scrypt at its next successful login.
 */
export async function importLegacyAccount(
  router: Router,
  input: { username: string; email?: string; legacyHash: LegacyHash },
): Promise<number> {
  const hash = await wrapLegacyHash(input.legacyHash); // before the transaction: no connection held while hashing
  try {
    return await router.onGlobal('account_import_legacy', async (conn) => {
      const header = await conn.exec('INSERT INTO accounts (username, email, password_hash) VALUES (?, ?, ?)', [
        input.username,
        input.email ?? null,
        hash,
      ]);
      const id = Number(header.insertId);
      await conn.exec("INSERT INTO account_security (account_id, salt) VALUES (?, '')", [id]);
      return id;
    });
  } catch (error) {
    if (isDuplicateKey(error, 'username')) throw new NameTakenError('username', input.username, { cause: error });
    if (isDuplicateKey(error, 'email')) throw new NameTakenError('email', input.email ?? '', { cause: error });
    throw error;
  }
}
