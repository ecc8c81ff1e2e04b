/**
 * The per-process scrypt cost (configurePasswordHashing({ costLog2 })), which the sandbox's
 * simulated players lower: new hashes carry it, a hash at that cost is not "weaker", and a cost
 * outside 10..20 is refused before anything changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { configurePasswordHashing, SCRYPT_LOG_N, hashPassword, verifyPassword } from '../../src/crypto/password.js';

afterEach(() => configurePasswordHashing({ costLog2: SCRYPT_LOG_N }));

describe('scrypt cost per process', () => {
  it('a lowered cost is what new hashes carry, and such a hash needs no rehash at that cost', async () => {
    configurePasswordHashing({ costLog2: 12 });
    const { hash } = await hashPassword('follow the white rabbit');
    expect(hash).toMatch(/^\$scrypt\$ln=12,r=8,p=1\$/);
    expect(await verifyPassword('follow the white rabbit', hash)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('wrong', hash)).toEqual({ ok: false, needsRehash: false });
    // Back at the default, the same hash is weaker and is rehashed at the next login.
    configurePasswordHashing({ costLog2: SCRYPT_LOG_N });
    expect(await verifyPassword('follow the white rabbit', hash)).toEqual({ ok: true, needsRehash: true });
  });

  it('refuses a cost outside 10..20 and keeps the current one', async () => {
    expect(() => configurePasswordHashing({ costLog2: 9 })).toThrow(/costLog2: must be an integer from 10 to 20/);
    expect(() => configurePasswordHashing({ costLog2: 21 })).toThrow(RangeError);
    expect(() => configurePasswordHashing({ costLog2: Number.NaN })).toThrow(RangeError);
    configurePasswordHashing({ costLog2: 11 });
    expect(() => configurePasswordHashing({ costLog2: 4 })).toThrow(RangeError);
    expect((await hashPassword('x')).hash).toMatch(/^\$scrypt\$ln=11,/);
  });
});
