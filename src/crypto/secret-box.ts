import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';

/**
 * Secrets at rest (login-key private exponents, TOTP secrets): AES-256-GCM under a key derived
 * with HKDF-SHA256 from MXO_LOGIN_KEY_SECRET, one subkey per purpose, the owning account bound in
 * as associated data (a sealed value moved to another row does not open).
 *
 * The secret must be 32 random bytes, written as 64 hex digits or base64/base64url (e.g.
 * `openssl rand -hex 32`): a passphrase is refused, so there is nothing to guess or stretch.
 * Values sealed before that (version 1: HKDF of the secret's text, at least 16 characters) still
 * open, with MXO_LOGIN_KEY_SECRET_PREVIOUS (the old text) if set, else the current text.
 */
export const SECRET_ENV = 'MXO_LOGIN_KEY_SECRET';
export const PREVIOUS_SECRET_ENV = 'MXO_LOGIN_KEY_SECRET_PREVIOUS';

/** What a secret protects; each gets its own key. */
export type SecretPurpose = 'account_login_keys' | 'account_totp';

/** The version sealed today (version 1 keys came from the secret's text without the 32-byte rule). */
export const SEAL_VERSION = 2;

/** The 32 bytes of MXO_LOGIN_KEY_SECRET; undefined when unset; ConfigError when not 32 bytes. */
function secretBytes(): Buffer | undefined {
  const text = process.env[SECRET_ENV]?.trim();
  if (!text) return undefined;
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text))
    bytes = Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=$/, ''), 'base64url');
  if (bytes?.length !== 32) {
    throw new ConfigError([{ field: SECRET_ENV, message: 'must be 32 random bytes as 64 hex digits or base64 (openssl rand -hex 32)' }]);
  }
  return bytes;
}

/** The key for `purpose`, or undefined when no secret is configured. */
export function atRestKey(purpose: SecretPurpose): Buffer | undefined {
  const secret = secretBytes();
  return secret && Buffer.from(hkdfSync('sha256', secret, 'mxo-data', purpose, 32));
}

/** True when MXO_LOGIN_KEY_SECRET is set (and valid: ConfigError otherwise). */
export function atRestConfigured(): boolean {
  return secretBytes() !== undefined;
}

/** The version 1 key (login keys only were sealed then), or undefined. */
function versionOneKey(purpose: SecretPurpose): Buffer | undefined {
  const text = process.env[PREVIOUS_SECRET_ENV] || process.env[SECRET_ENV];
  return text ? Buffer.from(hkdfSync('sha256', text, 'mxo-data', purpose, 32)) : undefined;
}

/** IV, tag and ciphertext, authenticated with `aad`. */
export function seal(key: Buffer, aad: string, plain: Uint8Array): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/**
 * Opens a sealed value of `version` (1 or 2). Throws `missing` when no key is configured for it,
 * `undecryptable` when it does not open (another secret, or the blob was moved).
 */
export function openSealed(purpose: SecretPurpose, version: number, aad: string, blob: Buffer): Buffer {
  const key = version === 1 ? versionOneKey(purpose) : atRestKey(purpose);
  if (!key) throw new SealedSecretError('missing');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12)).setAAD(Buffer.from(aad));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
  } catch {
    throw new SealedSecretError('undecryptable');
  }
}

/** Internal: why a sealed value did not open (callers turn it into their typed error). */
export class SealedSecretError extends Error {
  constructor(readonly why: 'missing' | 'undecryptable') {
    super(why);
  }
}
