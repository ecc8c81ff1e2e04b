import type { PooledConnection } from '../../pool/pooled-connection.js';

/** One row of the seed's `character_equipment_summary` view (a character with no equipment has one row of nulls). */
export interface EquipmentSummaryRow {
  slotName: string;
  itemName: string | null;
  quality: string | null;
  itemLevel: number | null;
  durability: number | null;
}

export async function readEquipmentSummary(
  conn: PooledConnection,
  characterId: number,
): Promise<{ characterName: string; slots: EquipmentSummaryRow[] } | undefined> {
  const rows = await conn.rows<Record<string, unknown>>(
    `SELECT character_name, slot_name, item_name, quality, item_level, durability
       FROM character_equipment_summary WHERE character_id = ? ORDER BY slot_name`,
    [characterId],
  );
  if (rows.length === 0) return undefined;
  return {
    characterName: String(rows[0]!.character_name),
    slots: rows
      .filter((r) => r.slot_name !== null)
      .map((r) => ({
        slotName: String(r.slot_name),
        itemName: (r.item_name as string | null) ?? null,
        quality: (r.quality as string | null) ?? null,
        itemLevel: r.item_level === null ? null : Number(r.item_level),
        durability: r.durability === null ? null : Number(r.durability),
      })),
  };
}
