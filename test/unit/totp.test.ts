/** TOTP (RFC 6238 / RFC 4226) and base32, without a database. */
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, matchTotp, newTotpSecret, otpauthUrl, totpCode, totpStep } from '../../src/systems/shared/totp.js';

// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 8 digits.
const RFC_SECRET = base32Encode(Buffer.from('12345678901234567890'));
const RFC_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1_111_111_109, '07081804'],
  [1_111_111_111, '14050471'],
  [1_234_567_890, '89005924'],
  [2_000_000_000, '69279037'],
  [20_000_000_000, '65353130'],
];

describe('codes', () => {
  it('matches the RFC 6238 test vectors', () => {
    for (const [seconds, code] of RFC_VECTORS) expect(totpCode(RFC_SECRET, totpStep(seconds * 1000), 8)).toBe(code);
  });

  it('steps every 30 seconds', () => {
    expect(totpStep(0)).toBe(0);
    expect(totpStep(29_999)).toBe(0);
    expect(totpStep(30_000)).toBe(1);
  });

  it('accepts a code one step either side of now (clock drift), not two; returns its step', () => {
    const secret = newTotpSecret();
    const at = 1_700_000_000_000;
    const now = totpStep(at);
    expect(matchTotp(secret, totpCode(secret, now), at)).toBe(now);
    expect(matchTotp(secret, totpCode(secret, now - 1), at)).toBe(now - 1);
    expect(matchTotp(secret, totpCode(secret, now + 1), at)).toBe(now + 1);
    expect(matchTotp(secret, totpCode(secret, now - 2), at)).toBeUndefined();
    expect(matchTotp(secret, totpCode(secret, now + 2), at)).toBeUndefined();
  });

  it('refuses anything but six digits before comparing', () => {
    const secret = newTotpSecret();
    const at = Date.now();
    const code = totpCode(secret, totpStep(at));
    for (const bad of ['', code.slice(1), `${code}0`, ` ${code}`, code.replace(/\d$/, 'x')])
      expect(matchTotp(secret, bad, at)).toBeUndefined();
  });
});

describe('secrets', () => {
  it('are 20 random bytes as 32 base32 characters, and round-trip', () => {
    const a = newTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(a);
    expect(base32Decode(a)).toHaveLength(20);
    expect(base32Encode(base32Decode(a))).toBe(a);
    expect(base32Decode('gezdgnbv')).toEqual(Buffer.from('12345'));
    expect(() => base32Decode('ABC1')).toThrow(/base32/);
  });

  it('go into the otpauth URL authenticator apps read', () => {
    expect(otpauthUrl('ABCD', 'neo one')).toBe('otpauth://totp/MxO%3Aneo%20one?secret=ABCD&issuer=MxO&algorithm=SHA1&digits=6&period=30');
  });
});
