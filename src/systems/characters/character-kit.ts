import { z } from 'zod';
import { ItemNotAllowedError, NotFoundError } from '../../errors.js';
import { BACKPACK_LAST_SLOT, slotMismatch, WORN_SLOTS, wornOf, wornSlotAt } from '../shared/equipment-slots.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { abilityIdSchema } from '../shared/ability-loadout.js';
import { drawWornPart } from '../shared/slot-allocation.js';
import { id } from '../shared/fields.js';
import type { Same } from '../../validate.js';

/**
 * What characters.create puts on a new character in its own transaction (issue 18, part B): the
 * starting clothes and items in client slots (0x61-0x68 are worn, with their appearance), the
 * starting abilities (and their loadout slots) and the profile names.
 */

/** A starting item in a client slot: backpack 0x00-0x60 or worn 0x61-0x68. */
export interface StartingItem {
  templateId: number;
  slot: number;
}

/** A starting ability: its id, or with a level and a loadout slot. */
export type StartingAbility = number | { abilityId: number; level?: number; slot?: number; loaded?: boolean };

/** @internal */
export const startingItemsSchema = z
  .array(
    z
      .object({
        templateId: id,
        slot: z.number().int().min(0).max(WORN_SLOTS.clothing_feet.slot),
      })
      .strict(),
  )
  .max(BACKPACK_LAST_SLOT + 9)
  .refine((items) => new Set(items.map((i) => i.slot)).size === items.length, 'a slot appears twice');

/** @internal */
export const startingAbilitiesSchema = z
  .array(
    z.union([
      abilityIdSchema.transform((abilityId) => ({ abilityId, level: 1, slot: undefined as number | undefined, loaded: false })),
      z
        .object({
          abilityId: abilityIdSchema,
          level: z.number().int().min(1).max(127).default(1),
          slot: z.number().int().min(0).max(65_535).optional(),
          loaded: z.boolean().default(false),
        })
        .strict(),
    ]),
  )
  .max(256)
  .refine((a) => new Set(a.map((x) => x.abilityId)).size === a.length, 'an ability appears twice')
  .refine((a) => {
    const slots = a.flatMap((x) => (x.slot === undefined ? [] : [x.slot]));
    return new Set(slots).size === slots.length;
  }, 'a loadout slot appears twice');

/** A starting ability as parsed: defaults filled in. */
interface ParsedAbility {
  abilityId: number;
  level: number;
  slot?: number;
  loaded: boolean;
}
// The public type and the schema agree (the parsed shape is checked where characters.ts passes it on).
const agrees: Same<z.input<typeof startingAbilitiesSchema>, StartingAbility[]> = true;
void agrees;

/** Inserts the starting items (ids allocated by the caller, one per item) on the new character's shard. */
export async function insertStartingItems(
  conn: PooledConnection,
  characterId: number,
  items: Array<StartingItem & { itemId: number }>,
): Promise<void> {
  if (items.length === 0) return;
  const ids = [...new Set(items.map((i) => i.templateId))];
  const templates = await conn.rows<{
    template_id: number;
    item_type: string;
    item_subtype: string | null;
    rsi_model: number | null;
    rsi_color: number | null;
  }>(
    `SELECT template_id, item_type, item_subtype, rsi_model, rsi_color FROM item_templates WHERE template_id IN (${ids.map(() => '?').join(', ')})`,
    ids,
  );
  for (const item of items) {
    const tpl = templates.find((t) => Number(t.template_id) === item.templateId);
    if (!tpl) throw new NotFoundError('item template', item.templateId);
    const worn = wornSlotAt(item.slot);
    if (worn) {
      const mismatch = slotMismatch(worn, tpl.item_type, tpl.item_subtype);
      if (mismatch) throw new ItemNotAllowedError(item.itemId, mismatch);
    }
    await conn.exec(
      `INSERT INTO character_inventory (item_id, character_id, template_id, container_type, slot_position, acquired_method)
       VALUES (?, ?, ?, ?, ?, 'admin')`,
      [item.itemId, characterId, item.templateId, worn ? 'equipped' : 'inventory', item.slot],
    );
    if (worn) {
      await conn.exec('INSERT INTO character_equipment (character_id, slot_name, item_id) VALUES (?, ?, ?)', [
        characterId,
        worn,
        item.itemId,
      ]);
      await drawWornPart(conn, characterId, wornOf(worn)!.part, Number(tpl.rsi_model ?? 0), Number(tpl.rsi_color ?? 0));
    }
  }
}

/** Inserts the starting abilities (each must be defined) and their loadout slots. */
export async function insertStartingAbilities(conn: PooledConnection, characterId: number, abilities: ParsedAbility[]): Promise<void> {
  if (abilities.length === 0) return;
  const ids = abilities.map((a) => a.abilityId);
  const defined = await conn.rows<{ ability_id: number }>(
    `SELECT ability_id FROM ability_templates WHERE ability_id IN (${ids.map(() => '?').join(', ')})`,
    ids,
  );
  const missing = ids.find((i) => !defined.some((d) => Number(d.ability_id) === i));
  if (missing !== undefined) throw new NotFoundError('ability', missing);
  for (const a of abilities) {
    await conn.exec('INSERT INTO character_abilities (character_id, ability_id, ability_level) VALUES (?, ?, ?)', [
      characterId,
      a.abilityId,
      a.level,
    ]);
    if (a.slot !== undefined)
      await conn.exec('INSERT INTO character_ability_slots (character_id, slot_number, ability_id, is_loaded) VALUES (?, ?, ?, ?)', [
        characterId,
        a.slot,
        a.abilityId,
        a.loaded,
      ]);
  }
}
