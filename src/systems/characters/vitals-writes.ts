import type { CoalescedKind } from '../../writebehind/coalesced.js';
import { tokenStillHolds } from '../shared/fenced-write.js';

/** Health and inner strength as last reported (either may be absent: that column keeps its value). */
export interface VitalsEntry {
  health?: number;
  innerStrength?: number;
  /** The presence claim the vitals were sent under: written only while it still holds (src/systems/shared/fenced-write.ts). */
  fencingToken?: number;
}

/**
 * Vitals through the write-behind buffer: the latest value per character wins, clamped at flush
 * time to the row's own maxima (max_health, max_inner_strength), which setAttributes may change.
 */
export const VITALS: CoalescedKind<VitalsEntry> = {
  name: 'vitals',
  // Values sent under another claim are not merged in: they must not land under the newer token.
  merge: (older, newer) =>
    older.fencingToken !== newer.fencingToken
      ? newer
      : {
          health: newer.health ?? older.health,
          innerStrength: newer.innerStrength ?? older.innerStrength,
          fencingToken: newer.fencingToken,
        },
  async write(conn, batch) {
    const ids = batch.map(([key]) => Number(key));
    const column = (name: string, max: string, pick: (v: VitalsEntry) => number | undefined) => {
      const params: unknown[] = [];
      const cases = batch.map(([key, v]) => {
        params.push(Number(key), pick(v) ?? null);
        return `WHEN ? THEN LEAST(${max}, COALESCE(?, ${name}))`;
      });
      return { sql: `${name} = CASE character_id ${cases.join(' ')} ELSE ${name} END`, params };
    };
    const sets = [column('health', 'max_health', (v) => v.health), column('inner_strength', 'max_inner_strength', (v) => v.innerStrength)];
    const fence = tokenStillHolds(batch.map(([key, v]) => ({ characterId: Number(key), fencingToken: v.fencingToken })));
    // A character that moved to another shard meanwhile matches no row here, nor one whose claim was taken over.
    await conn.batch(
      `UPDATE characters SET ${sets.map((s) => s.sql).join(', ')} WHERE character_id IN (${ids.map(() => '?').join(',')}) AND ${fence.sql}`,
      [...sets.flatMap((s) => s.params), ...ids, ...fence.params],
    );
  },
};
