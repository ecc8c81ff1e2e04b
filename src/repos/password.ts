import { randomBytes, scrypt, timingSafeEqual, createHash } from 'node:crypto';

/** scrypt parameters: N=2^14, r=8, p=1 (OWASP's minimum for scrypt), 64-byte key. */
const KEY_LENGTH = 64;
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password with a fresh 16-byte salt; both returned as hex (128 and 32 chars). */
export async function hashPassword(password: string): Promise<{ hash: string; salt: string }> {
  const salt = randomBytes(16);
  return { hash: (await derive(password, salt)).toString('hex'), salt: salt.toString('hex') };
}

/** Constant-time comparison of a password against a stored hash and salt. */
export async function verifyPassword(password: string, hashHex: string, saltHex: string): Promise<boolean> {
  const expected = Buffer.from(hashHex, 'hex');
  const actual = await derive(password, Buffer.from(saltHex, 'hex'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A new session token (32 random bytes) and the SHA-256 that is all the database stores. */
export function newSessionToken(): { token: string; digest: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, digest: digestToken(token) };
}

export function digestToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
