import { BACKPACK_FIRST_SLOT, BACKPACK_LAST_SLOT, type WornPart } from './equipment-slots.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { LockClause } from '../../routing/router.js';

/**
 * The first `count` free backpack slots of a character (0x00-0x60), lowest first; null for each
 * item that finds none (overflow: kept, but without a slot until one frees). The caller holds the
 * character's row lock, so no concurrent call of the same character takes a slot meanwhile; the
 * unique key (character, container, slot) is the backstop. A locking read: it sees the latest
 * committed slots, not the transaction's snapshot (which may predate the character lock).
 */
export async function freeSlots(
  conn: PooledConnection,
  characterId: number,
  count: number,
  /** `FOR UPDATE NOWAIT` in a transaction that must never wait (a trade's first attempt across shards). */
  forUpdate: LockClause = 'FOR UPDATE',
): Promise<Array<number | null>> {
  const used = await conn.rows<{ slot_position: number }>(
    `SELECT slot_position FROM character_inventory
      WHERE character_id = ? AND container_type = 'inventory' AND slot_position BETWEEN ? AND ? ${forUpdate}`,
    [characterId, BACKPACK_FIRST_SLOT, BACKPACK_LAST_SLOT],
  );
  const taken = new Set(used.map((r) => Number(r.slot_position)));
  const out: Array<number | null> = [];
  for (let s = BACKPACK_FIRST_SLOT; s <= BACKPACK_LAST_SLOT && out.length < count; s++) if (!taken.has(s)) out.push(s);
  while (out.length < count) out.push(null);
  return out;
}

/** Draws (or with model 0, clears) a worn part in characters.appearance_data (`hatModel`, `hatColor`, ...). */
export async function drawWornPart(
  conn: PooledConnection,
  characterId: number,
  part: WornPart,
  model: number,
  color: number,
): Promise<void> {
  await conn.exec(`UPDATE characters SET appearance_data = JSON_SET(COALESCE(appearance_data, '{}'), ?, ?, ?, ?) WHERE character_id = ?`, [
    `$.${part}Model`,
    model,
    `$.${part}Color`,
    color,
    characterId,
  ]);
}
