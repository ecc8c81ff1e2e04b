import type { Fencing } from '../../routing/router.js';

/**
 * What every character write takes as its last argument (docs/design.md, "Presence and fencing").
 * A server in the world for the character passes its presence claim's `fencingToken`: the write
 * is refused with PresenceLostError when the claim was taken over or released since (the token
 * is compared with `characters.presence_token` under the character's row lock, in the write's own
 * transaction). With `presence.requireFencing` in the cluster config the token is required.
 * Calls that already take an options object (idempotency keys, ttl) take it in that object.
 */
export interface WriteOptions {
  /** The caller's presence claim token for the character written (db.presence.claim). */
  fencingToken?: number;
}

/** The router's fencing options of a call's `options` (the router validates the token). */
export function fencing(options: WriteOptions | undefined): Fencing {
  return options?.fencingToken === undefined ? {} : { fencingToken: options.fencingToken };
}

/** An internal write that needs no claim: exempt from `presence.requireFencing`, saying why. */
export function unfenced(why: string): Fencing {
  return { unfenced: why };
}

/** Options of the deprecated online flag (`characters.setOnline`, `presence.setOnline`). */
export interface SetOnlineOptions {
  /** The server taking (or releasing) the character; default `'set-online'`. */
  serverId?: string;
  /** Going offline: the claim to release; going online: the claim that must still hold. */
  fencingToken?: number;
  /** Seconds the claim lives without a heartbeat (1-3600, default 3600: the old flag had no expiry). */
  ttlSec?: number;
}
