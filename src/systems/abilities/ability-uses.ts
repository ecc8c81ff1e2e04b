import { MASTERY_POINTS_FULL, MASTERY_POINTS_PER_USE } from './mastery.js';
import type { CoalescedKind } from '../../writebehind/coalesced.js';

/** Uses of one ability by one character since the last flush. */
export interface AbilityUses {
  characterId: number;
  abilityId: number;
  uses: number;
  /** Epoch milliseconds of the latest use. */
  lastUsedMs: number;
  /** The presence claim the uses were sent under: counted only while it still holds (src/systems/shared/fenced-write.ts). */
  fencingToken?: number;
}

const INT_MAX = 2_147_483_647;

/** The buffer key of a character's ability. */
export function abilityUseKey(characterId: number, abilityId: number): string {
  return `${characterId}:${abilityId}`;
}

/**
 * Ability use counters through the write-behind buffer: uses per (character, ability) add up
 * between flushes and land in one multi-row UPDATE (times_used, mastery_points,
 * mastery_percentage, last_used). Only learned abilities have a row to update: uses of an
 * ability the character does not know (or of a character that moved away) match nothing.
 */
export const ABILITY_USES: CoalescedKind<AbilityUses> = {
  name: 'ability_use',
  // Uses sent under another claim are not added in: they must not land under the newer token.
  merge: (older, newer) =>
    older.fencingToken !== newer.fencingToken
      ? newer
      : {
          ...newer,
          uses: Math.min(INT_MAX, older.uses + newer.uses),
          lastUsedMs: Math.max(older.lastUsedMs, newer.lastUsedMs),
        },
  async write(conn, batch) {
    const tuple = 'SELECT ? AS character_id, ? AS ability_id, ? AS uses, ? AS last_used_ms, ? AS fencing_token';
    const points = `COALESCE(ca.mastery_points, 0) + u.uses * ${MASTERY_POINTS_PER_USE}`;
    // Multi-table UPDATE assigns in no fixed order: every expression reads only the old row and u.
    await conn.batch(
      `UPDATE character_abilities ca
         JOIN (${batch.map(() => tuple).join(' UNION ALL ')}) u ON ca.character_id = u.character_id AND ca.ability_id = u.ability_id
         -- The claim the uses were sent under must still hold (any, for uses sent without a token).
         JOIN characters c ON c.character_id = u.character_id AND c.presence_token <=> COALESCE(u.fencing_token, c.presence_token)
          SET ca.times_used = LEAST(${INT_MAX}, COALESCE(ca.times_used, 0) + u.uses),
              ca.mastery_points = LEAST(${INT_MAX}, ${points}),
              ca.mastery_percentage = LEAST(100, (${points}) * 100 / ${MASTERY_POINTS_FULL}),
              ca.last_used = GREATEST(COALESCE(ca.last_used, FROM_UNIXTIME(u.last_used_ms / 1000)), FROM_UNIXTIME(u.last_used_ms / 1000))`,
      batch.flatMap(([, v]) => [v.characterId, v.abilityId, v.uses, v.lastUsedMs, v.fencingToken ?? null]),
    );
  },
};
