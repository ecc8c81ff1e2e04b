/**
 * Reality's password hash (rajkosto/mxoemu @ada4951a, Reality/Source/AuthServer.cpp:458):
 * SHA1hex(SHA1hex(salt) + SHA1hex(password)), lower-case hex. The expected digest below was
 * computed apart from this code base (Python's hashlib), so a wrong composition fails here.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { realityDigest } from '../../src/crypto/password.js';

describe("Reality's password hash", () => {
  it('is SHA1hex(SHA1hex(salt) + SHA1hex(password)) in lower-case hex', () => {
    // python3: h=lambda b: hashlib.sha1(b).hexdigest(); h((h(b'a!b~c#d%') + h(b'follow-the-white-rabbit')).encode())
    expect(realityDigest('follow-the-white-rabbit', 'a!b~c#d%')).toBe('e367273399d216473f76386767ef4eea16bd34d8');
    expect(realityDigest('follow-the-white-rabbit', Buffer.from('a!b~c#d%'))).toBe('e367273399d216473f76386767ef4eea16bd34d8');
    // Not SHA-1(salt + password), the 'salted-sha1' kind.
    expect(realityDigest('x', 'y')).not.toBe(createHash('sha1').update('yx').digest('hex'));
  });
});
