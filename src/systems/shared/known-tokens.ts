import type { Router } from '../../routing/router.js';

/**
 * Fencing tokens this process read on a character's row recently, per cluster object (keyed by
 * its directory, shared by every session): a buffered write under a token read in the last
 * {@link KNOWN_FOR_MS} is accepted without reading it again (a server sends positions, vitals and
 * ability uses many times a second). The flush checks the token on the row in any case, so a stale
 * entry can only delay the PresenceLostError, never let a write land; presence calls of this
 * process forget the characters they touch, so its own claims and takeovers are seen at once.
 */
export const KNOWN_FOR_MS = 1_000;

const byCluster = new WeakMap<object, Map<number, { token: number; until: number }>>();

function tokensOf(router: Router): Map<number, { token: number; until: number }> {
  let map = byCluster.get(router.directory);
  if (!map) byCluster.set(router.directory, (map = new Map()));
  return map;
}

/** The token read for the character within the last second, if any. */
export function knownToken(router: Router, characterId: number): number | undefined {
  const entry = tokensOf(router).get(characterId);
  if (entry === undefined) return undefined;
  if (entry.until > performance.now()) return entry.token;
  tokensOf(router).delete(characterId);
  return undefined;
}

/** The token is the character's now (just read on its row). */
export function rememberToken(router: Router, characterId: number, token: number): void {
  const map = tokensOf(router);
  // Bounded: a server holds a few thousand characters; past that the oldest entries go first.
  if (map.size >= 100_000) map.delete(map.keys().next().value!);
  map.set(characterId, { token, until: performance.now() + KNOWN_FOR_MS });
}

/** Presence changed (or may have changed) these characters' tokens. */
export function forgetTokens(router: Router, characterIds: Iterable<number>): void {
  const map = tokensOf(router);
  for (const id of characterIds) map.delete(id);
}

/**
 * Forgets the characters' tokens once `work` (a presence call that changes them) has settled:
 * after its commit, so a read racing the change cannot keep the old token.
 */
export async function forgetAfter<T>(router: Router, characterIds: number[], work: Promise<T>): Promise<T> {
  try {
    return await work;
  } finally {
    forgetTokens(router, characterIds);
  }
}
