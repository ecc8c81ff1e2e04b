import { createHmac } from 'node:crypto';
import { ConfigError } from '../errors.js';

/** The environment variable holding the cluster's read-session token secret. */
export const SESSION_TOKEN_SECRET_ENV = 'MXO_SESSION_TOKEN_SECRET';

/**
 * The key that signs read-session tokens (HMAC-SHA256), derived from MXO_SESSION_TOKEN_SECRET;
 * undefined when unset (tokens are then unsigned, as before). Every process of a cluster must
 * share the secret: a token signed by one is checked by another. At least 32 characters.
 */
export function sessionTokenKey(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const secret = env[SESSION_TOKEN_SECRET_ENV];
  if (secret === undefined || secret === '') return undefined;
  if (secret.length < 32) {
    throw new ConfigError([{ field: SESSION_TOKEN_SECRET_ENV, message: 'must be at least 32 characters (it signs read-session tokens)' }]);
  }
  // Domain-separated from any other use of the same secret.
  return createHmac('sha256', secret).update('mxo-data read-session token v2').digest();
}
