import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { WorkQueue } from './work-queue.js';

/**
 * Password hashing. New hashes are PHC strings that carry their own parameters:
 * `$scrypt$ln=17,r=8,p=1$<salt b64>$<key b64>` (N = 2^ln, OWASP's scrypt cost), so the cost can
 * rise later without breaking stored hashes. Hashes written before that (128 hex chars, the salt
 * in `account_security.salt`, N=2^14) still verify and are rehashed at the next login.
 *
 * Every hash and verification goes through one bounded queue per process (2 at a time, 128
 * waiting by default, {@link configurePasswordHashing}): each scrypt takes 128 MiB and a libuv
 * thread, which new database connections also need for their DNS lookups; past the bound a
 * caller gets OverloadedError at once.
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

const queue = new WorkQueue('password hashing', 2, 128);
const counts = { hashes: 0, verifications: 0 };

/**
 * Sets the hashing queue's bounds for this process: `concurrency` scrypt runs at once (each uses
 * a libuv thread and 128 MiB), `maxQueued` waiting before OverloadedError. `costLog2` sets this
 * process's scrypt cost for new hashes and for what counts as weaker (default {@link SCRYPT_LOG_N});
 * lower it only for throwaway data, as the sandbox's simulated players do: a production cluster
 * keeps the default.
 * @example configurePasswordHashing({ concurrency: 2, maxQueued: 256 });
 */
export function configurePasswordHashing(options: { concurrency?: number; maxQueued?: number; costLog2?: number }): void {
  if (options.concurrency !== undefined) queue.concurrency = Math.max(1, Math.floor(options.concurrency));
  if (options.maxQueued !== undefined) queue.maxQueued = Math.max(0, Math.floor(options.maxQueued));
  if (options.costLog2 !== undefined) {
    const logN = Math.floor(options.costLog2);
    if (!(logN >= MIN_LOG_N && logN <= 20))
      throw new RangeError(`costLog2: must be an integer from ${MIN_LOG_N} to 20, got ${options.costLog2}`);
    CURRENT.logN = logN;
  }
}

/** The lowest scrypt cost {@link configurePasswordHashing} accepts (for throwaway sandboxes only). */
const MIN_LOG_N = 10;

/**
 * What this process's password hashing did: hashes made, verifications run (each one scrypt of
 * today's cost at least), jobs running and waiting now, jobs refused because the queue was full.
 */
export function passwordHashingStats(): { hashes: number; verifications: number; active: number; queued: number; refused: number } {
  return { ...counts, ...queue.load, refused: queue.refused };
}

/** True when a hash or verification asked for now would be refused (the queue is full). */
export function passwordHashingFull(): boolean {
  return queue.full;
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
  const key = await queue.run(() => derive(password, salt, CURRENT));
  counts.hashes++;
  return { hash: phc(salt, key), salt: salt.toString('hex') };
}

function phc(salt: Buffer, key: Buffer): string {
  return `$scrypt$ln=${CURRENT.logN},r=${R},p=${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
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
 * is weaker than today's parameters (the caller stores a fresh {@link hashPassword}). Every
 * path costs at least one scrypt of today's cost, so the time taken does not tell an unknown
 * account (the dummy hash), a wrapped legacy hash or an older scrypt hash apart.
 */
export async function verifyPassword(password: string, stored: string, legacySaltHex = ''): Promise<{ ok: boolean; needsRehash: boolean }> {
  return queue.run(async () => {
    counts.verifications++;
    const wrapped = parseWrapped(stored);
    if (wrapped) {
      // The legacy digest of the password, then the scrypt wrapper around it.
      const actual = await derive(legacyDigest(wrapped.kind, password, wrapped.legacySalt), wrapped.salt, wrapped.params);
      return { ok: sameKey(wrapped.key, actual), needsRehash: true };
    }
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
    const weaker = parsed.params.logN < CURRENT.logN || parsed.params.r < R || !stored.startsWith('$scrypt$');
    // A weaker hash would answer faster than the dummy an unknown account gets: top it up.
    if (weaker) await derive(password, DUMMY_SALT, CURRENT);
    return { ok: sameKey(parsed.key, actual), needsRehash: weaker };
  });
}

function sameKey(expected: Buffer, actual: Buffer): boolean {
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Today's parameters (the cost can be lowered per process: configurePasswordHashing). */
const CURRENT: Params = { logN: SCRYPT_LOG_N, r: R, p: P, keyLength: KEY_LENGTH };

/** A hash imported from an older server (accounts.importLegacy); rehashed to scrypt at the next login. */
export interface LegacyHash {
  kind: 'md5' | 'salted-sha1' | 'reality';
  /**
   * Hex digest: MD5(password), SHA-1(salt + password) of their UTF-8 bytes, or for 'reality'
   * (rajkosto/mxoemu's `users.passwordHash`) SHA1hex(SHA1hex(salt) + SHA1hex(password)).
   */
  hash: string;
  /** salted-sha1 and reality: the old server's salt (1-48 bytes of UTF-8; Reality's `users.passwordSalt`). */
  salt?: string;
}

/** The wrapped form's tag per kind: `$<tag>-scrypt$...`. */
const WRAP_TAG = { md5: 'md5', 'salted-sha1': 'sha1', reality: 'reality' } as const;
const KIND_OF_TAG: Record<string, LegacyHash['kind']> = { md5: 'md5', sha1: 'salted-sha1', reality: 'reality' };

/**
 * How an imported hash is kept in accounts.password_hash: wrapped in scrypt, so the legacy
 * digest itself (as good as the password against MD5/SHA-1 cracking) is never at rest:
 * `$md5-scrypt$<PHC of the hex digest>`, `$sha1-scrypt$<old salt b64url>$<PHC of the hex digest>`
 * or `$reality-scrypt$<old salt b64url>$<PHC of the hex digest>`.
 */
export async function wrapLegacyHash(legacy: LegacyHash): Promise<string> {
  const hex = legacy.hash.toLowerCase();
  const salt = randomBytes(16);
  const key = await queue.run(() => derive(hex, salt, CURRENT));
  counts.hashes++;
  if (legacy.kind === 'md5') return `$md5-scrypt${phc(salt, key)}`;
  return `$${WRAP_TAG[legacy.kind]}-scrypt$${Buffer.from(legacy.salt ?? '', 'utf8').toString('base64url')}${phc(salt, key)}`;
}

/** The legacy hash as imported before wrapping (`$md5$<hex>` / `$sha1$<salt>$<hex>`), for {@link wrapLegacyHash}; undefined otherwise. */
export function unwrappedLegacyHash(stored: string): LegacyHash | undefined {
  const md5 = /^\$md5\$([0-9a-f]{32})$/.exec(stored);
  if (md5) return { kind: 'md5', hash: md5[1]! };
  const sha1 = /^\$sha1\$([A-Za-z0-9_-]+)\$([0-9a-f]{40})$/.exec(stored);
  if (sha1) return { kind: 'salted-sha1', hash: sha1[2]!, salt: Buffer.from(sha1[1]!, 'base64url').toString('utf8') };
  return undefined;
}

function parseWrapped(
  stored: string,
): { kind: LegacyHash['kind']; legacySalt: Buffer; params: Params; salt: Buffer; key: Buffer } | undefined {
  const m = /^\$(md5|sha1|reality)-scrypt(?:\$([A-Za-z0-9_-]+))?(\$scrypt\$.*)$/.exec(stored);
  // md5 has no salt; the salted kinds must have one.
  if (!m || (m[1] !== 'md5') !== (m[2] !== undefined)) return undefined;
  const inner = parseStored(m[3]!, '');
  if (!inner) return undefined;
  return { kind: KIND_OF_TAG[m[1]!]!, legacySalt: Buffer.from(m[2] ?? '', 'base64url'), ...inner };
}

/**
 * MD5(password), SHA-1(salt + password) or Reality's double SHA-1 as lower-case hex, the way the
 * older server computed it.
 */
function legacyDigest(kind: LegacyHash['kind'], password: string, salt: Buffer): string {
  if (kind === 'md5') return createHash('md5').update(password, 'utf8').digest('hex');
  if (kind === 'reality') return realityDigest(password, salt);
  return createHash('sha1')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest('hex');
}

const sha1Hex = (data: Buffer | string): string => createHash('sha1').update(data).digest('hex');

/**
 * Reality's password hash (rajkosto/mxoemu @ada4951a, Reality/Source/AuthServer.cpp:458
 * `AuthServer::HashPassword`: `MakeSHA1HashHex(MakeSHA1HashHex(salt) + MakeSHA1HashHex(password))`,
 * where MakeSHA1HashHex is CryptoPP's SHA1 through `HexEncoder(..., false)`, i.e. lower-case hex;
 * CreateAccount/ChangePassword store it with an 8-character salt of '!'..'~', and
 * AuthSocket.cpp:136 `VerifyPassword` compares it as a string).
 */
export function realityDigest(password: string, salt: Buffer | string): string {
  return sha1Hex(sha1Hex(salt) + sha1Hex(Buffer.from(password, 'utf8')));
}

/** Checks a legacy hash imported before wrapping; undefined when `stored` is not one. Constant-time compare. */
function checkImportedHash(password: string, stored: string): boolean | undefined {
  const legacy = unwrappedLegacyHash(stored);
  if (!legacy) return undefined;
  const expected = Buffer.from(legacy.hash, 'hex');
  const actual = Buffer.from(legacyDigest(legacy.kind, password, Buffer.from(legacy.salt ?? '', 'utf8')), 'hex');
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
