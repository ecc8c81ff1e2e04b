import { z } from 'zod';
import { ItemNotAllowedError, NotFoundError, RequirementError } from '../../errors.js';
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

/**
 * A starting ability: its id (level 1, in no slot), or with a level (0-127: mxo-hd starts some at
 * 0) and the loadout slots it sits in: `slot` for one, `slots` for several (one ability may sit in
 * two slots, as mxo-hd's kit puts one id in slots 12 and 13); `loaded` applies to each of them.
 */
export type StartingAbility = number | { abilityId: number; level?: number; slot?: number; slots?: readonly number[]; loaded?: boolean };

/**
 * The starting abilities Hardline Dreams gives a new character: hdneo/mxo-hd
 * `hds/margin/MarginClient.cs` `addStartAbilitys` (db445dcd, lines 451-466), one
 * `addAbility(abilityId, slot, charId, level, is_loaded)` per row, its signed int32 ids here in
 * the client's unsigned form. Its last two rows put one id (0x8002e000, "Hyperspeed" and
 * "HyperSprint" in its comments) in slots 12 and 13: one ability in two slots. Each id must be
 * defined (`abilities.defineAbility`/`defineMany`) with a maximum level of at least its level.
 * @example await db.characters.create({ accountId, name: 'Neo', districtId: 0, startingAbilities: MXO_HD_STARTING_ABILITIES });
 */
export const MXO_HD_STARTING_ABILITIES: ReadonlyArray<{
  readonly abilityId: number;
  readonly level: number;
  readonly slots: readonly number[];
  readonly loaded: boolean;
}> = Object.freeze(
  [
    { abilityId: 0x80000800, level: 1, slots: [0], loaded: true }, // -2147481600
    { abilityId: 0x8001c400, level: 1, slots: [1], loaded: true }, // -2147367936
    { abilityId: 0x8002e400, level: 0, slots: [2], loaded: true }, // -2147294208
    { abilityId: 0x80031400, level: 0, slots: [3], loaded: false }, // -2147281920
    { abilityId: 0x80031800, level: 0, slots: [4], loaded: false }, // -2147280896
    { abilityId: 0x8000b400, level: 1, slots: [5], loaded: true }, // -2147437568
    { abilityId: 0x8000e400, level: 0, slots: [6], loaded: false }, // -2147425280
    { abilityId: 0x80013400, level: 0, slots: [7], loaded: false }, // -2147404800
    { abilityId: 0x80009400, level: 0, slots: [8], loaded: false }, // -2147445760
    { abilityId: 0x800f1c00, level: 0, slots: [9], loaded: false }, // -2146493440
    { abilityId: 0x800fb800, level: 1, slots: [10], loaded: false }, // -2146453504
    { abilityId: 0x80002c00, level: 20, slots: [11], loaded: true }, // -2147472384, "Hyperjump"
    { abilityId: 0x8002e000, level: 20, slots: [12, 13], loaded: true }, // -2147295232, "Hyperspeed" / "HyperSprint"
  ].map((a) => Object.freeze({ ...a, slots: Object.freeze(a.slots) })),
);

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

const loadoutSlot = z.number().int().min(0).max(65_535);

const startingAbilityObject = z
  .object({
    abilityId: abilityIdSchema,
    // character_abilities.ability_level is a TINYINT; mxo-hd starts abilities at 0.
    level: z.number().int().min(0).max(127).default(1),
    slot: loadoutSlot.optional(),
    slots: z.array(loadoutSlot).max(64).optional(),
    loaded: z.boolean().default(false),
  })
  .strict()
  .refine((a) => a.slot === undefined || a.slots === undefined, { path: ['slots'], message: 'give slot or slots, not both' })
  .refine((a) => a.slots === undefined || new Set(a.slots).size === a.slots.length, { path: ['slots'], message: 'a slot appears twice' })
  .transform(({ slot, slots, ...a }) => ({ ...a, slots: slots ?? (slot === undefined ? [] : [slot]) }));

/** @internal */
export const startingAbilitiesSchema = z
  .array(
    // A bare id is the object form with defaults: one schema, so a refusal names the exact field
    // (`startingAbilities.2.slots`) instead of "matches neither form".
    z.preprocess((a) => (typeof a === 'number' ? { abilityId: a } : a), startingAbilityObject) as unknown as z.ZodType<
      z.output<typeof startingAbilityObject>,
      StartingAbility
    >,
  )
  .max(256)
  .refine((a) => new Set(a.map((x) => x.abilityId)).size === a.length, 'an ability appears twice')
  .refine((a) => {
    const slots = a.flatMap((x) => x.slots);
    return new Set(slots).size === slots.length;
  }, 'a loadout slot appears twice');

/** A starting ability as parsed: defaults filled in. */
interface ParsedAbility {
  abilityId: number;
  level: number;
  /** Every loadout slot it sits in (`slot` folded in): mxo-hd's kit puts one id in slots 12 and 13. */
  slots: number[];
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

/**
 * Inserts the starting abilities (each must be defined, at a level within its template's maximum:
 * RequirementError 'max_level' otherwise) and their loadout slots: one multi-row statement each.
 */
export async function insertStartingAbilities(conn: PooledConnection, characterId: number, abilities: ParsedAbility[]): Promise<void> {
  if (abilities.length === 0) return;
  const ids = abilities.map((a) => a.abilityId);
  const defined = await conn.rows<{ ability_id: number; max_ability_level: number }>(
    `SELECT ability_id, max_ability_level FROM ability_templates WHERE ability_id IN (${ids.map(() => '?').join(', ')})`,
    ids,
  );
  for (const a of abilities) {
    const template = defined.find((d) => Number(d.ability_id) === a.abilityId);
    if (!template) throw new NotFoundError('ability', a.abilityId);
    if (a.level > Number(template.max_ability_level))
      throw new RequirementError('max_level', `ability ${a.abilityId} is at most level ${template.max_ability_level}, ${a.level} asked`);
  }
  // Text protocol: the statement's text follows the kit's size (no prepared statement per size).
  await conn.batch(
    `INSERT INTO character_abilities (character_id, ability_id, ability_level) VALUES ${abilities.map(() => '(?, ?, ?)').join(', ')}`,
    abilities.flatMap((a) => [characterId, a.abilityId, a.level]),
  );
  const slots = abilities.flatMap((a) => a.slots.map((slot) => [characterId, slot, a.abilityId, a.loaded]));
  if (slots.length > 0)
    await conn.batch(
      `INSERT INTO character_ability_slots (character_id, slot_number, ability_id, is_loaded) VALUES ${slots.map(() => '(?, ?, ?, ?)').join(', ')}`,
      slots.flat(),
    );
}
