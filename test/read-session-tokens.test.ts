import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../src/index.js';
import { ReadSession } from '../src/routing/read-session.js';
import { sessionTokenKey } from '../src/routing/session-token-key.js';

/**
 * Read-session tokens signed with the cluster's secret (issue 23): without a signature anyone can
 * hand in a token naming a far-future GTID, and every `session` read of it waits on the replicas,
 * then goes to the primary. With MXO_SESSION_TOKEN_SECRET set, only tokens the cluster signed
 * are accepted.
 */
const key = sessionTokenKey({ MXO_SESSION_TOKEN_SECRET: 'a-cluster-secret-of-at-least-32-characters' })!;
const signed = () => {
  const s = new ReadSession(undefined, key);
  s.noteWrite('alpha', '0-1-42');
  return s.token();
};
const body = (positions: Record<string, string>) => Buffer.from(JSON.stringify(positions)).toString('base64url');

describe('read-session tokens', () => {
  it('with a secret: signed tokens round-trip; forged, unsigned or foreign-key tokens are refused typed', () => {
    const token = signed();
    expect(token).toMatch(/^mxo2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(ReadSession.fromToken(token, undefined, key).positionOn('alpha')).toBe('0-1-42');
    const signature = token.split('.')[2];
    const forged = [
      `mxo2.${body({ alpha: '0-1-999999999999' })}.${signature}`, // a far-future position, the old signature
      `mxo1.${body({ alpha: '0-1-999999999999' })}`, // unsigned
      `mxo2.${body({ alpha: '0-1-999999999999' })}`, // no signature
      `${token}.extra`,
      (() => {
        const other = new ReadSession(undefined, sessionTokenKey({ MXO_SESSION_TOKEN_SECRET: 'x'.repeat(40) }));
        other.noteWrite('alpha', '0-1-42');
        return other.token(); // another cluster's key
      })(),
    ];
    for (const bad of forged) {
      expect(() => ReadSession.fromToken(bad, undefined, key), bad).toThrow(ValidationError);
    }
    expect(() => ReadSession.fromToken(`mxo2.${body({ alpha: '0-1-9' })}.${signature}`, undefined, key)).toThrow(/signature/);
  });

  it('the secret comes from the environment; a short one is a config error; unset keeps unsigned tokens', () => {
    expect(sessionTokenKey({})).toBeUndefined();
    expect(() => sessionTokenKey({ MXO_SESSION_TOKEN_SECRET: 'short' })).toThrow(ConfigError);
    const unsigned = new ReadSession();
    unsigned.noteWrite('alpha', '0-1-7');
    expect(ReadSession.fromToken(unsigned.token()).positionOn('alpha')).toBe('0-1-7');
  });
});
