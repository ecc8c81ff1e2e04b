import { InvalidStateError } from '../errors.js';
import { atRestKey, openSealed, seal, SealedSecretError, SEAL_VERSION } from '../crypto/secret-box.js';
import { plaintextRefused } from '../systems/accounts/account-keys.js';

/**
 * TOTP secrets at rest in `account_security.two_factor_secret`: `v2:<base64url of IV, tag and
 * ciphertext>` sealed under MXO_LOGIN_KEY_SECRET (bound to the account), or the base32 text itself
 * (rows written before sealing, or stored with `allowPlaintext`).
 */
const SEALED = /^v(\d+):([A-Za-z0-9_-]+)$/;

/** The stored form of `base32` for `accountId`; ConfigError when no secret is set, unless `allowPlaintext`. */
export function sealTotpSecret(accountId: number, base32: string, options: { allowPlaintext?: boolean } = {}): string {
  const key = atRestKey('account_totp');
  if (!key) {
    if (!options.allowPlaintext) throw plaintextRefused('the two-factor secret');
    return base32;
  }
  return `v${SEAL_VERSION}:${seal(key, aad(accountId), Buffer.from(base32, 'utf8')).toString('base64url')}`;
}

/** True when `stored` is sealed (not the plaintext base32 of an older row). */
export function isSealedTotpSecret(stored: string): boolean {
  return SEALED.test(stored);
}

/** The base32 secret of a stored value; InvalidStateError `secret_missing` / `undecryptable` when it does not open. */
export function openTotpSecret(accountId: number, stored: string): string {
  const m = SEALED.exec(stored);
  if (!m) return stored;
  try {
    return openSealed('account_totp', Number(m[1]), aad(accountId), Buffer.from(m[2]!, 'base64url')).toString('utf8');
  } catch (error) {
    if (!(error instanceof SealedSecretError)) throw error;
    throw new InvalidStateError(
      'account',
      accountId,
      error.why === 'missing' ? 'secret_missing' : 'undecryptable',
      error.why === 'missing' ? 'MXO_LOGIN_KEY_SECRET is not set; the two-factor secret is encrypted' : 'the two-factor secret does not open with this MXO_LOGIN_KEY_SECRET',
    );
  }
}

function aad(accountId: number): string {
  return `totp:account:${accountId}`;
}
