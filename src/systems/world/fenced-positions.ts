import type { Position } from '../../writebehind/write-behind-buffer.js';
import type { CoalescedKind } from '../../writebehind/coalesced.js';

/** A position sent under a presence claim: written only while the claim's token is still the character's. */
export interface FencedPosition extends Position {
  fencingToken: number;
}

/**
 * Positions through the write-behind buffer, fenced: the flush writes a row only where
 * `characters.presence_token` still equals the token the position was sent with, so a position
 * buffered by a server whose claim was taken over (or released) meanwhile matches no row.
 * The latest position per character wins, with its token.
 */
export const FENCED_POSITIONS: CoalescedKind<FencedPosition> = {
  name: 'fenced_position',
  merge: (_older, newer) => newer,
  async write(conn, batch) {
    const ids = batch.map(([key]) => Number(key));
    const cases = (pick: (p: FencedPosition) => number | undefined, name: string) => {
      const params: unknown[] = [];
      const whens = batch.map(([key, p]) => {
        params.push(Number(key), pick(p) ?? null);
        return `WHEN ? THEN COALESCE(?, ${name})`;
      });
      return { sql: `CASE character_id ${whens.join(' ')} ELSE ${name} END`, params };
    };
    const columns: Array<[string, (p: FencedPosition) => number | undefined]> = [
      ['position_x', (p) => p.x],
      ['position_y', (p) => p.y],
      ['position_z', (p) => p.z],
      ['rotation_x', (p) => p.rotation?.x],
      ['rotation_y', (p) => p.rotation?.y],
      ['rotation_z', (p) => p.rotation?.z],
      ['rotation_w', (p) => p.rotation?.w],
    ];
    const sets = columns.map(([name, pick]) => {
      const c = cases(pick, name);
      return { sql: `${name} = ${c.sql}`, params: c.params };
    });
    const token = cases((p) => p.fencingToken, 'presence_token');
    // A character that moved to another shard meanwhile matches no row here either.
    await conn.batch(
      `UPDATE characters SET ${sets.map((s) => s.sql).join(', ')}
        WHERE character_id IN (${ids.map(() => '?').join(',')}) AND presence_token = ${token.sql}`,
      [...sets.flatMap((s) => s.params), ...ids, ...token.params],
    );
  },
};
