import { ItemNotAllowedError, NotFoundError } from '../../errors.js';
import { WORN_SLOTS, wornSlotAt } from './equipment-slots.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { equipItem, unequipSlot, type Owner } from './item-care.js';

/**
 * The client's view of an inventory: one number per item. Backpack slots 0x00-0x60 are
 * container 'inventory'; 0x61-0x68 are the worn clothing (container 'equipped', see
 * src/systems/shared/equipment-slots.ts WORN_SLOTS).
 */
export const ITEM_COLUMNS = `ci.item_id, ci.character_id, ci.template_id, ci.quantity, ci.durability, ci.container_type, ci.slot_position,
  ci.acquired_method, ci.is_bound, ci.purity`;

/** The container a client slot lives in. */
export function containerOfSlot(slot: number): 'inventory' | 'equipped' {
  return wornSlotAt(slot) ? 'equipped' : 'inventory';
}

/** The item in a client slot (locked with `forUpdate`), or undefined when the slot is empty. */
export async function itemAtSlot(
  conn: PooledConnection,
  characterId: number,
  slot: number,
  forUpdate = false,
): Promise<Record<string, unknown> | undefined> {
  const [row] = await conn.rows(
    `SELECT ${ITEM_COLUMNS} FROM character_inventory ci
      WHERE ci.character_id = ? AND ci.container_type = ? AND ci.slot_position = ?${forUpdate ? ' FOR UPDATE' : ''}`,
    [characterId, containerOfSlot(slot), slot],
  );
  return row;
}

/** Where each item ended up after a move. */
export interface SlotMove {
  itemId: number;
  slot: number | null;
}

/**
 * Moves the item in `from` to `to` as the client does: into an empty slot, or swapping with the
 * item there. Into a worn slot (0x61-0x68) it is an equip (slot rules apply; the appearance
 * follows); out of one, an unequip (or, onto an occupied backpack slot, equipping that item).
 */
export async function moveSlot(conn: PooledConnection, owner: Owner, from: number, to: number): Promise<SlotMove[]> {
  const a = await itemAtSlot(conn, owner.characterId, from, true);
  if (!a) throw new NotFoundError('item in slot', from);
  const aid = Number(a.item_id);
  if (from === to) return [{ itemId: aid, slot: from }];
  const b = await itemAtSlot(conn, owner.characterId, to, true);
  const bid = b ? Number(b.item_id) : null;
  const fromWorn = wornSlotAt(from);
  const toWorn = wornSlotAt(to);
  if (!fromWorn && !toWorn) {
    // Off the key first: (character, container, slot) is unique at every step.
    await conn.exec('UPDATE character_inventory SET slot_position = NULL WHERE item_id = ?', [aid]);
    if (bid !== null) await conn.exec('UPDATE character_inventory SET slot_position = ? WHERE item_id = ?', [from, bid]);
    await conn.exec('UPDATE character_inventory SET slot_position = ? WHERE item_id = ?', [to, aid]);
    return bid === null
      ? [{ itemId: aid, slot: to }]
      : [
          { itemId: aid, slot: to },
          { itemId: bid, slot: from },
        ];
  }
  if (toWorn && fromWorn) throw new ItemNotAllowedError(aid, `worn in slot ${from}; it cannot be worn in slot ${to}`);
  if (toWorn) {
    // The worn item, if any, comes back into `from` (equipItem swaps into the slot the item leaves).
    const { replacedItemId } = await equipItem(conn, owner, aid, toWorn);
    return replacedItemId === null
      ? [{ itemId: aid, slot: to }]
      : [
          { itemId: aid, slot: to },
          { itemId: replacedItemId, slot: from },
        ];
  }
  if (bid !== null) {
    await equipItem(conn, owner, bid, fromWorn!);
    return [
      { itemId: bid, slot: WORN_SLOTS[fromWorn!].slot },
      { itemId: aid, slot: to },
    ];
  }
  await unequipSlot(conn, owner, fromWorn!, to);
  return [{ itemId: aid, slot: to }];
}
