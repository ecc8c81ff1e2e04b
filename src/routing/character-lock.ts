import { StaleRouteError } from '../errors.js';
import type { PooledConnection } from '../pool/pooled-connection.js';

/** Locks a character's row on `shard`; a missing row means the cached route is stale. */
export async function lockCharacter(
  conn: PooledConnection,
  characterId: number,
  shard: string,
): Promise<{ money: number | string; district_id: number; presence_token: number | string | null }> {
  const [row] = await conn.rows<{ money: number | string; district_id: number; presence_token: number | string | null }>(
    'SELECT money, district_id, presence_token FROM characters WHERE character_id = ? FOR UPDATE',
    [characterId],
  );
  if (!row) throw new StaleRouteError(characterId, shard);
  return row;
}
