import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing. New hashes are PHC strings that carry their own parameters:
 * `$scrypt$ln=17,r=8,p=1$<salt b64>$<key b64>` (N = 2^ln, OWASP's scrypt cost), so the cost can
 * rise later without breaking stored hashes. Hashes written before that (128 hex chars, the salt
 * in `account_security.salt`, N=2^14) still verify and are rehashed at the next login.
 */
export const SCRYPT_LOG_N = 17;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const LEGACY = { logN: 14, r: 8, p: 1, keyLength: 64 };

interface Params {
  logN: number;
  r: number;
  p: number;
  keyLength: number;
}

function derive(password: string, salt: Buffer, params: Params): Promise<Buffer> {
  // 128 * N * r bytes of memory; allow twice that.
  const maxmem = 256 * 2 ** params.logN * params.r + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, params.keyLength, { N: 2 ** params.logN, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A new PHC hash of `password` with a fresh 16-byte salt; `salt` (hex) fills the seed's salt column. */
export async function hashPassword(password: string): Promise<{ hash: string; salt: string }> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { logN: SCRYPT_LOG_N, r: R, p: P, keyLength: KEY_LENGTH });
  return {
    hash: `$scrypt$ln=${SCRYPT_LOG_N},r=${R},p=${P}$${salt.toString('base64url')}$${key.toString('base64url')}`,
    salt: salt.toString('hex'),
  };
}

/** Parses a stored hash: a PHC string, or the legacy hex form with its salt column. */
function parseStored(stored: string, legacySaltHex: string): { params: Params; salt: Buffer; key: Buffer } | undefined {
  const phc = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (phc) {
    const key = Buffer.from(phc[5]!, 'base64url');
    const params = { logN: Number(phc[1]), r: Number(phc[2]), p: Number(phc[3]), keyLength: key.length };
    if (params.logN < 10 || params.logN > 20) return undefined;
    return { params, salt: Buffer.from(phc[4]!, 'base64url'), key };
  }
  if (/^[0-9a-f]{128}$/i.test(stored)) return { params: LEGACY, salt: Buffer.from(legacySaltHex, 'hex'), key: Buffer.from(stored, 'hex') };
  return undefined;
}

/**
 * Constant-time check of `password` against a stored hash. `needsRehash` is true when the hash
 * is weaker than today's parameters (the caller stores a fresh {@link hashPassword}).
 */
export async function verifyPassword(password: string, stored: string, legacySaltHex = ''): Promise<{ ok: boolean; needsRehash: boolean }> {
  const imported = checkImportedHash(password, stored);
  if (imported !== undefined) {
    await derive(password, DUMMY_SALT, CURRENT); // the same scrypt work as any other check
    return { ok: imported, needsRehash: true };
  }
  const parsed = parseStored(stored, legacySaltHex);
  if (!parsed) {
    await derive(password, DUMMY_SALT, CURRENT); // same cost as a real check
    return { ok: false, needsRehash: false };
  }
  const actual = await derive(password, parsed.salt, parsed.params);
  const ok = parsed.key.length === actual.length && timingSafeEqual(parsed.key, actual);
  return { ok, needsRehash: parsed.params.logN < SCRYPT_LOG_N || parsed.params.r < R || !stored.startsWith('$scrypt$') };
}

const CURRENT: Params = { logN: SCRYPT_LOG_N, r: R, p: P, keyLength: KEY_LENGTH };

/** A hash imported from an older server (accounts.importLegacy); rehashed to scrypt at the next login. */
export interface LegacyHash {
  kind: 'md5' | 'salted-sha1';
  /** Hex digest: MD5(password), or SHA-1(salt + password) of their UTF-8 bytes. */
  hash: string;
  /** salted-sha1 only: the old server's salt (1-48 bytes of UTF-8). */
  salt?: string;
}

/** How an imported hash is kept in accounts.password_hash: `$md5$<hex>` or `$sha1$<salt b64url>$<hex>`. */
export function storedLegacyHash(legacy: LegacyHash): string {
  const hex = legacy.hash.toLowerCase();
  if (legacy.kind === 'md5') return `$md5$${hex}`;
  return `$sha1$${Buffer.from(legacy.salt ?? '', 'utf8').toString('base64url')}$${hex}`;
}

/** Checks an imported hash; undefined when `stored` is not one. Constant-time compare. */
function checkImportedHash(password: string, stored: string): boolean | undefined {
  const md5 = /^\$md5\$([0-9a-f]{32})$/.exec(stored);
  const sha1 = /^\$sha1\$([A-Za-z0-9_-]+)\$([0-9a-f]{40})$/.exec(stored);
  if (!md5 && !sha1) return undefined;
  const [expected, actual] = md5
    ? [Buffer.from(md5[1]!, 'hex'), createHash('md5').update(password, 'utf8').digest()]
    : [
        Buffer.from(sha1![2]!, 'hex'),
        createHash('sha1')
          .update(Buffer.concat([Buffer.from(sha1![1]!, 'base64url'), Buffer.from(password, 'utf8')]))
          .digest(),
      ];
  return timingSafeEqual(expected, actual);
}
const DUMMY_SALT = Buffer.alloc(16);

/**
 * A hash of today's cost that no password matches, checked for unknown usernames so that a
 * miss costs the same scrypt work as a hit.
 */
export const DUMMY_HASH = `$scrypt$ln=${SCRYPT_LOG_N},r=${R},p=${P}$${DUMMY_SALT.toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`;

/** A new session token (32 random bytes) and the SHA-256 that is all the database stores. */
export function newSessionToken(): { token: string; digest: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, digest: digestToken(token) };
}

export function digestToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
