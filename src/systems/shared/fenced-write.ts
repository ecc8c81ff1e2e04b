import { z } from 'zod';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Router } from '../../routing/router.js';
import { checkToken, fencingRequired } from '../../routing/fencing-token.js';
import { fencingToken } from './fields.js';
import { forgetTokens, knownToken, rememberToken } from './known-tokens.js';

/**
 * Fencing of the character writes that do not go through `router.onCharacter`: those buffered in
 * the write-behind buffer (positions, vitals, ability uses) and character moves (docs/design.md,
 * "Presence and fencing"). The rule is the router's: a write carrying a presence claim's token is
 * refused (PresenceLostError) when the claim was taken over or released; with
 * `presence.requireFencing` a write without a token is refused before any SQL.
 *
 * A buffered write is checked twice. When it is accepted: one primary-key read of
 * `characters.presence_token` (at most one a second per character: known-tokens.ts), so a server
 * that lost its claim hears it at once, or within a second when another process took it over. When it is
 * flushed: the batch UPDATE matches only rows whose `presence_token` is still the token the write
 * was sent with (the check and the write are one statement, under the row's lock), so a write
 * accepted just before a takeover never lands. Nothing else is told: a buffered write has no
 * caller to answer by then.
 */

/** @internal The options of a buffered character write. */
export const fencedWriteOptions = z.object({ fencingToken }).strict();

/** A write without a token where the cluster requires one: refused before any SQL. */
export function requireToken(router: Router, token: number | undefined, field = 'options'): void {
  if (token === undefined && router.requireFencing) throw fencingRequired(field);
}

export { checkToken };

/**
 * The shard on which to buffer a write for `characterId`, after the acceptance check: without a
 * token the cached route (none required unless `presence.requireFencing`); with one, the token is
 * read on the character's row (strong) and must be the character's.
 */
export async function acceptBuffered(router: Router, operation: string, characterId: number, token: number | undefined): Promise<string> {
  requireToken(router, token);
  // Without a token, or with one read on the row within the last second (known-tokens.ts): the route only.
  if (token === undefined || knownToken(router, characterId) === token)
    return (router.directory.cached(characterId) ?? (await router.directory.resolve(characterId))).shard;
  try {
    return await router.readCharacter(operation, characterId, 'strong', async (conn, route) => {
      const current = await presenceTokenOf(conn, characterId);
      if (current === undefined) return undefined; // not on this shard: the router re-resolves
      checkToken(characterId, token, current);
      rememberToken(router, characterId, token);
      return route.shard;
    });
  } catch (error) {
    forgetTokens(router, [characterId]);
    throw error;
  }
}

/** The fencing token on the character's row; undefined when the row is not on this shard. */
export async function presenceTokenOf(conn: PooledConnection, characterId: number): Promise<number | null | undefined> {
  const [row] = await conn.rows<{ presence_token: number | string | null }>(
    'SELECT presence_token FROM characters WHERE character_id = ?',
    [characterId],
  );
  if (!row) return undefined;
  return row.presence_token === null ? null : Number(row.presence_token);
}

/**
 * SQL matching the rows of a batch whose token still holds: `presence_token` equals the token
 * each character's entry was sent with, or anything for an entry sent without one.
 */
export function tokenStillHolds(
  batch: Array<{ characterId: number; fencingToken?: number }>,
  column = 'presence_token',
  idColumn = 'character_id',
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const whens = batch.map((e) => {
    params.push(e.characterId, e.fencingToken ?? null);
    return 'WHEN ? THEN ?';
  });
  return { sql: `${column} <=> COALESCE(CASE ${idColumn} ${whens.join(' ')} END, ${column})`, params };
}
