import type { PooledConnection } from '../../pool/pooled-connection.js';

/**
 * The global index of buddy edges (buddy_edges, sql/global/090): every write of a 'friend' row in
 * character_relationships (or of its removal) calls {@link syncBuddyEdge} on the global branch
 * of the same transaction, so the index equals the shards' friend rows.
 */
export async function syncBuddyEdge(global: PooledConnection, characterId: number, buddyId: number, isFriend: boolean): Promise<void> {
  if (isFriend) {
    await global.exec('INSERT IGNORE INTO buddy_edges (character_id, buddy_id) VALUES (?, ?)', [characterId, buddyId]);
  } else {
    await global.exec('DELETE FROM buddy_edges WHERE character_id = ? AND buddy_id = ?', [characterId, buddyId]);
  }
}

/** A character on a buddy list (or having one), with its online status from the presence claims. */
export interface BuddyEntry {
  characterId: number;
  handle: string;
  online: boolean;
  /** The district server holding it, while online. */
  serverId: string | null;
  districtId: number | null;
  /** Both have each other on their lists. */
  isMutual: boolean;
}

/**
 * One read on global: the other ends of a character's edges (`direction` 'buddies': whom it
 * lists; 'followers': who lists it), live (not soft-deleted), with a live presence claim as
 * online status.
 */
export async function readBuddyEdges(
  conn: PooledConnection,
  characterId: number,
  direction: 'buddies' | 'followers',
): Promise<BuddyEntry[]> {
  const [self, other] = direction === 'buddies' ? ['character_id', 'buddy_id'] : ['buddy_id', 'character_id'];
  const rows = await conn.rows<{
    other_id: number;
    character_name: string;
    server_id: string | null;
    district_id: number | null;
    mutual: number;
  }>(
    `SELECT e.${other} AS other_id, d.character_name, p.server_id, p.district_id,
            EXISTS (SELECT 1 FROM buddy_edges b WHERE b.character_id = e.buddy_id AND b.buddy_id = e.character_id) AS mutual
       FROM buddy_edges e
       JOIN character_directory d ON d.character_id = e.${other} AND d.deleted_at IS NULL
       LEFT JOIN presence_claims p ON p.character_id = e.${other} AND p.server_id IS NOT NULL AND p.expires_at > NOW(6)
      WHERE e.${self} = ? ORDER BY d.character_name`,
    [characterId],
  );
  return rows.map((r) => ({
    characterId: Number(r.other_id),
    handle: r.character_name,
    online: r.server_id !== null,
    serverId: r.server_id,
    districtId: r.district_id === null ? null : Number(r.district_id),
    isMutual: Boolean(Number(r.mutual)),
  }));
}
