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
  clothing_feet: { itemType: 'clothing', subtypes: ['shoes', 'boots', 'feet'] },
  accessory: { itemType: 'misc' },
} as const satisfies Record<string, { itemType: string; subtypes?: readonly string[] }>;

export type SlotName = keyof typeof EQUIPMENT_SLOTS;
export const SLOT_NAMES = Object.keys(EQUIPMENT_SLOTS) as [SlotName, ...SlotName[]];

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
