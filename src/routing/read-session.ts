import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { isGtidPosition, mergeGtidPositions } from '../replica/gtid-position.js';

/** Told about every write a session records (the lag monitor learns when replicas apply it). */
export interface WriteObserver {
  noteWrite(shard: string, position: string): void;
}

/**
 * What one player's session has written: the GTID position of its last write per shard
 * (`global` included). A `session` read on a replica first makes sure the replica has applied
 * that position, so the player always reads their own writes. The token form carries it to
 * another process.
 */
export class ReadSession {
  private readonly positions = new Map<string, string>();
  /** Shards this session wrote to itself, in this process (not only through a token). */
  private readonly wroteLocally = new Set<string>();

  /**
   * @param key signs the token (src/routing/session-token-key.ts): without it tokens are unsigned,
   * and anyone can forge one naming a far-future position (its reads wait on replicas, then hit
   * the primary).
   */
  constructor(
    private readonly observer?: WriteObserver,
    private readonly key?: Buffer,
  ) {}

  /** Records a write's GTID on `shard`. */
  noteWrite(shard: string, gtid: string | undefined): void {
    if (!gtid) return;
    const merged = mergeGtidPositions(this.positions.get(shard), gtid);
    if (!merged) return;
    this.positions.set(shard, merged);
    this.wroteLocally.add(shard);
    this.observer?.noteWrite(shard, gtid);
  }

  /** The position a replica of `shard` must have applied to serve this session. */
  positionOn(shard: string): string | undefined {
    return this.positions.get(shard);
  }

  /**
   * True when this session's position on `shard` comes from a write made through it in this
   * process: the process then learns when each replica applies it (see LagMonitor), whereas a
   * position that arrived in a token can only be checked on the replica itself.
   */
  wroteHere(shard: string): boolean {
    return this.wroteLocally.has(shard);
  }

  /**
   * Opaque string form: `mxo1.<base64url JSON {shard: position}>`, or with a key
   * `mxo2.<body>.<base64url HMAC-SHA256 of "mxo2." + body>`.
   */
  token(): string {
    const body = Buffer.from(JSON.stringify(Object.fromEntries(this.positions))).toString('base64url');
    return this.key ? `mxo2.${body}.${mac(this.key, body)}` : `mxo1.${body}`;
  }

  /**
   * Rebuilds a session from {@link token}; a malformed token is a validation error. With a key,
   * only a token it signed is accepted (an unsigned or forged one is refused).
   */
  static fromToken(token: string, observer?: WriteObserver, key?: Buffer): ReadSession {
    const state = new ReadSession(observer, key);
    const bad = (message: string) => new ValidationError('session token', [{ field: 'token', message }]);
    if (typeof token !== 'string' || token.length > 16_384) throw bad('not an mxo-data session token');
    let body: string;
    if (key) {
      const [prefix, b, signature, ...rest] = token.split('.');
      if (prefix !== 'mxo2' || b === undefined || signature === undefined || rest.length > 0)
        throw bad('not a signed mxo-data session token');
      const want = Buffer.from(mac(key, b));
      const got = Buffer.from(signature);
      if (got.length !== want.length || !timingSafeEqual(got, want)) throw bad('the token signature does not match');
      body = b;
    } else {
      if (!token.startsWith('mxo1.')) throw bad('not an mxo-data session token');
      body = token.slice(5);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw bad('token body is not valid');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad('token body is not an object');
    for (const [shard, position] of Object.entries(parsed)) {
      if (!/^[a-z][a-z0-9_]{0,30}$/.test(shard)) throw bad('bad shard name');
      if (typeof position !== 'string' || !isGtidPosition(position)) throw bad(`bad GTID position for shard ${shard}`);
      state.positions.set(shard, position);
    }
    return state;
  }
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(`mxo2.${body}`).digest('base64url');
}
