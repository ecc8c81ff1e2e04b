/**
 * The `character_equipment.slot_name` values and what each accepts. The seed names slots like
 * `weapon_primary`, `weapon_secondary`, `clothing_head`; worn clothing has one slot per piece
 * (hat .. shoes), which part three maps to the client's inventory slots 0x61-0x68.
 * A clothing item whose `item_subtype` names a piece (hat, glasses, ...) fits only that slot.
 */
export const EQUIPMENT_SLOTS = {
  weapon_primary: { itemType: 'weapon' },
  weapon_secondary: { itemType: 'weapon' },
  clothing_head: { itemType: 'clothing', subtypes: ['hat', 'helmet', 'head'] },
  clothing_face: { itemType: 'clothing', subtypes: ['glasses', 'sunglasses', 'face'] },
  clothing_body: { itemType: 'clothing', subtypes: ['shirt', 'body', 'top'] },
  clothing_hands: { itemType: 'clothing', subtypes: ['gloves', 'hands'] },
  clothing_outer: { itemType: 'clothing', subtypes: ['coat', 'jacket', 'outer'] },
  clothing_legs: { itemType: 'clothing', subtypes: ['pants', 'legs', 'trousers'] },
  clothing_leggings: { itemType: 'clothing', subtypes: ['leggings', 'stockings', 'tights'] },
  clothing_feet: { itemType: 'clothing', subtypes: ['shoes', 'boots', 'feet'] },
  accessory: { itemType: 'misc' },
} as const satisfies Record<string, { itemType: string; subtypes?: readonly string[] }>;

export type SlotName = keyof typeof EQUIPMENT_SLOTS;
export const SLOT_NAMES = Object.keys(EQUIPMENT_SLOTS) as [SlotName, ...SlotName[]];

/** The client's backpack slots: 0x00 .. 0x60. */
export const BACKPACK_FIRST_SLOT = 0x00;
export const BACKPACK_LAST_SLOT = 0x60;

/** Worn clothing: equipment slot -> the client's inventory slot and the appearance (RSI) part it draws. */
export const WORN_SLOTS = {
  clothing_head: { slot: 0x61, part: 'hat' },
  clothing_face: { slot: 0x62, part: 'glasses' },
  clothing_body: { slot: 0x63, part: 'shirt' },
  clothing_hands: { slot: 0x64, part: 'gloves' },
  clothing_outer: { slot: 0x65, part: 'coat' },
  clothing_legs: { slot: 0x66, part: 'pants' },
  clothing_leggings: { slot: 0x67, part: 'leggings' },
  clothing_feet: { slot: 0x68, part: 'shoes' },
} as const satisfies Partial<Record<SlotName, { slot: number; part: string }>>;
export type WornSlotName = keyof typeof WORN_SLOTS;
export type WornPart = (typeof WORN_SLOTS)[WornSlotName]['part'];

/** The worn slot of a client inventory slot (0x61-0x68), or undefined for a backpack slot. */
export function wornSlotAt(clientSlot: number): WornSlotName | undefined {
  return (Object.keys(WORN_SLOTS) as WornSlotName[]).find((s) => WORN_SLOTS[s].slot === clientSlot);
}

/** The client inventory slot and RSI part of an equipment slot, if it is worn clothing. */
export function wornOf(slot: SlotName): { slot: number; part: WornPart } | undefined {
  return (WORN_SLOTS as Partial<Record<SlotName, { slot: number; part: WornPart }>>)[slot];
}

/** Why an item of `itemType`/`subtype` does not fit `slot`, or undefined when it does. */
export function slotMismatch(slot: SlotName, itemType: string, subtype: string | null): string | undefined {
  const rule: { itemType: string; subtypes?: readonly string[] } = EQUIPMENT_SLOTS[slot];
  if (rule.itemType !== itemType) return `a ${itemType} does not fit slot ${slot}`;
  if (!rule.subtypes || !subtype) return undefined;
  const sub = subtype.toLowerCase();
  const home = SLOT_NAMES.find((s) => (EQUIPMENT_SLOTS[s] as { subtypes?: readonly string[] }).subtypes?.includes(sub));
  return home && home !== slot ? `a ${subtype} belongs in slot ${home}` : undefined;
}

/** Share of a template's base value that a repair from 0 to 100 durability costs. */
export const REPAIR_RATE = 0.25;

/** The repair cost of an item: REPAIR_RATE of its base value per 100 points of durability lost, at least 1. */
export function repairCost(baseValue: number, durability: number): number {
  const lost = Math.max(0, 100 - durability);
  return lost === 0 ? 0 : Math.max(1, Math.ceil((baseValue * REPAIR_RATE * lost) / 100));
}
