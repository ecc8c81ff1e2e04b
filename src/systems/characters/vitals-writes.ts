import type { CoalescedKind } from '../../writebehind/coalesced.js';

/** Health and inner strength as last reported (either may be absent: that column keeps its value). */
export interface VitalsEntry {
  health?: number;
  innerStrength?: number;
}

/**
 * Vitals through the write-behind buffer: the latest value per character wins, clamped at flush
 * time to the row's own maxima (max_health, max_inner_strength), which setAttributes may change.
 */
export const VITALS: CoalescedKind<VitalsEntry> = {
  name: 'vitals',
  merge: (older, newer) => ({
    health: newer.health ?? older.health,
    innerStrength: newer.innerStrength ?? older.innerStrength,
  }),
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
    // A character that moved to another shard meanwhile matches no row here.
    await conn.batch(`UPDATE characters SET ${sets.map((s) => s.sql).join(', ')} WHERE character_id IN (${ids.map(() => '?').join(',')})`, [
      ...sets.flatMap((s) => s.params),
      ...ids,
    ]);
  },
};
