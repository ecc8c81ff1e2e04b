import { DistrictMovedError } from '../errors.js';
import type { PooledConnection } from '../pool/pooled-connection.js';

/**
 * Takes the district's fence row on `shard` in share mode, inside the caller's transaction: a
 * write for the district waits while a mover holds the row (the move's final transaction), and
 * throws {@link DistrictMovedError} once the district has left this shard, so nothing is written
 * to a shard that no longer owns the district. A missing row means owned (never moved).
 */
export async function checkDistrictFence(conn: PooledConnection, districtId: number, shard: string): Promise<void> {
  const [row] = await conn.rows<{ state: string }>('SELECT state FROM district_fences WHERE district_id = ? LOCK IN SHARE MODE', [
    districtId,
  ]);
  if (row && row.state !== 'owned') throw new DistrictMovedError(districtId, shard);
}
