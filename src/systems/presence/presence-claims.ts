import { createHash, randomBytes } from 'node:crypto';
import { PresenceHeldError, PresenceLostError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Router } from '../../routing/router.js';
import { GLOBAL } from '../../routing/topology.js';
import { inLockOrder } from '../../routing/lock-order.js';
import { unfenced } from '../shared/write-options.js';
import { lockCharacter } from '../../routing/character-lock.js';
import { inList } from '../../pool/in-list.js';

/**
 * The statements of presence (tables presence_claims on global, characters.presence_token on the
 * character's shard; sql/global/050_presence.sql). Every time is the global server's NOW(6).
 * Callers lock the character's shard row first (lockCharacter), which serialises every change of
 * one character's claim, then use these on the global branch of the same two-phase commit.
 */

export interface ClaimRow {
  server_id: string | null;
  district_id: number | null;
  fencing_token: number | string;
  expires_at: Date | null;
  live: number;
}

/** A claim as the caller gets it. */
export interface ClaimResult {
  fencingToken: number;
  expiresAt: Date;
}

/** Reads (and locks) the character's claim row on global; `live` says held and not expired. */
export async function lockClaim(global: PooledConnection, characterId: number): Promise<ClaimRow | undefined> {
  const [row] = await global.rows<ClaimRow>(
    `SELECT server_id, district_id, fencing_token, expires_at, (server_id IS NOT NULL AND expires_at > NOW(6)) AS live
       FROM presence_claims WHERE character_id = ? FOR UPDATE`,
    [characterId],
  );
  return row;
}

/** Throws PresenceHeldError when `row` is a live claim of a server other than `serverId`. */
export function refuseIfHeldElsewhere(characterId: number, row: ClaimRow | undefined, serverId: string, allowToken?: number | null): void {
  if (!row || !Number(row.live) || row.server_id === serverId) return;
  if (allowToken != null && Number(row.fencing_token) === allowToken) return; // a transfer of this very claim
  throw new PresenceHeldError(characterId, {
    serverId: row.server_id!,
    districtId: row.district_id === null ? null : Number(row.district_id),
    expiresAt: row.expires_at!,
  });
}

/** Takes (or takes over) the claim: the fencing token grows by one, the expiry is NOW(6) + ttl. */
export async function takeClaim(
  global: PooledConnection,
  characterId: number,
  claim: { serverId: string; districtId: number; ttlSec: number },
): Promise<ClaimResult> {
  await global.exec(
    `INSERT INTO presence_claims (character_id, server_id, district_id, fencing_token, ttl_sec, claimed_at, expires_at)
     VALUES (?, ?, ?, 1, ?, NOW(6), NOW(6) + INTERVAL ? SECOND)
     ON DUPLICATE KEY UPDATE server_id = VALUES(server_id), district_id = VALUES(district_id), fencing_token = fencing_token + 1,
       ttl_sec = VALUES(ttl_sec), claimed_at = VALUES(claimed_at), expires_at = VALUES(expires_at)`,
    [characterId, claim.serverId, claim.districtId, claim.ttlSec, claim.ttlSec],
  );
  const [row] = await global.rows<{ fencing_token: number | string; expires_at: Date }>(
    'SELECT fencing_token, expires_at FROM presence_claims WHERE character_id = ?',
    [characterId],
  );
  return { fencingToken: Number(row!.fencing_token), expiresAt: row!.expires_at };
}

/** Ends the claim that `fencingToken` names; PresenceLostError when it is no longer the character's. */
export async function dropClaim(global: PooledConnection, characterId: number, fencingToken: number): Promise<void> {
  const header = await global.exec(
    `UPDATE presence_claims SET server_id = NULL, district_id = NULL, expires_at = NULL
      WHERE character_id = ? AND fencing_token = ? AND server_id IS NOT NULL`,
    [characterId, fencingToken],
  );
  if (header.affectedRows !== 1) throw new PresenceLostError(characterId, fencingToken);
}

/** The shard side of a claim: online, with the token fenced writes must carry. */
export async function markOnline(shard: PooledConnection, characterId: number, fencingToken: number): Promise<void> {
  await shard.exec('UPDATE characters SET is_online = TRUE, last_login = CURRENT_TIMESTAMP, presence_token = ? WHERE character_id = ?', [
    fencingToken,
    characterId,
  ]);
}

/** The shard side of a release: offline, and no token matches any more. */
export async function markOffline(shard: PooledConnection, characterId: number): Promise<void> {
  await shard.exec('UPDATE characters SET is_online = FALSE, presence_token = NULL WHERE character_id = ?', [characterId]);
}

/** A new handoff ticket (256 random bits, base64url) and the hash stored for it. */
export function newTicket(): { ticket: string; hash: Buffer } {
  const ticket = randomBytes(32).toString('base64url');
  return { ticket, hash: ticketHash(ticket) };
}

export function ticketHash(ticket: string): Buffer {
  return createHash('sha256').update(ticket, 'utf8').digest();
}

const RELEASE_BATCH = 100;

/**
 * Releases the claims of `ids` that still match `filter` (a condition on presence_claims, checked
 * again under lock), in batches: each batch one transaction over the characters' shards and
 * global, so the claim and `is_online` go together. Returns the ids released, ascending.
 */
export async function releaseClaims(router: Router, ids: number[], filter: { where: string; params: unknown[] }): Promise<number[]> {
  const released: number[] = [];
  for (let i = 0; i < ids.length; i += RELEASE_BATCH) {
    const batch = ids.slice(i, i + RELEASE_BATCH);
    const { value } = await router.onCharacters(
      'presence_release_many',
      batch,
      async (tx, routes) => {
        // The router locked the shard rows first (routing/lock-order.ts), then global: the order every claim path uses.
        const ordered = inLockOrder(routes);
        const global = await tx.branch(GLOBAL);
        const list = inList(batch);
        const still = await global.rows<{ character_id: number }>(
          `SELECT character_id FROM presence_claims WHERE character_id IN ${list.sql} AND ${filter.where} FOR UPDATE`,
          [...list.params, ...filter.params],
        );
        const matched = new Set(still.map((r) => Number(r.character_id)));
        for (const r of ordered.filter((o) => matched.has(o.characterId))) {
          await global.exec('UPDATE presence_claims SET server_id = NULL, district_id = NULL, expires_at = NULL WHERE character_id = ?', [
            r.characterId,
          ]);
          await markOffline(await tx.branch(r.shard), r.characterId);
        }
        return [...matched];
      },
      { ...unfenced('operator release of claims'), also: [GLOBAL], decisionKey: GLOBAL },
    );
    released.push(...value);
  }
  return released.sort((a, b) => a - b);
}
