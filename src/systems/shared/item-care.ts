import { InsufficientFundsError, ItemNotAllowedError, NotFoundError, RequirementNotMetError } from '../../errors.js';
import { repairCost, slotMismatch, wornOf, type SlotName } from './equipment-slots.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { drawWornPart, freeSlots } from './slot-allocation.js';
import { bumpEconomy } from './vendor-rules.js';

/** The acting character, locked by the caller with `lockCharacter`. */
export interface Owner {
  characterId: number;
  money: number;
  districtId: number;
}

interface OwnedItem {
  item_id: number;
  template_id: number;
  quantity: number;
  durability: number;
  container_type: string;
  slot_position: number | null;
  is_bound: number;
  item_type: string;
  item_subtype: string | null;
  requirements: unknown;
  bind_on_equip: number;
  is_droppable: number;
  base_value: number;
  rsi_model: number | null;
  rsi_color: number | null;
  slot_name: string | null;
}

/** Locks an item the character owns, with its template's rules and the slot it is worn in. */
export async function lockOwnedItem(conn: PooledConnection, owner: Owner, itemId: number): Promise<OwnedItem> {
  const [item] = await conn.rows<OwnedItem>(
    `SELECT ci.item_id, ci.template_id, ci.quantity, ci.durability, ci.container_type, ci.slot_position, ci.is_bound,
            it.item_type, it.item_subtype, it.requirements, it.bind_on_equip, it.is_droppable, it.base_value,
            it.rsi_model, it.rsi_color,
            (SELECT ce.slot_name FROM character_equipment ce WHERE ce.item_id = ci.item_id LIMIT 1) AS slot_name
       FROM character_inventory ci JOIN item_templates it ON it.template_id = ci.template_id
      WHERE ci.item_id = ? AND ci.character_id = ? FOR UPDATE`,
    [itemId, owner.characterId],
  );
  if (!item) throw new NotFoundError('item', itemId);
  return item;
}

/** Equips an item in a slot; the slot's previous item goes back to the inventory. */
export async function equipItem(
  conn: PooledConnection,
  owner: Owner,
  itemId: number,
  slot: SlotName,
): Promise<{ replacedItemId: number | null; bound: boolean }> {
  const item = await lockOwnedItem(conn, owner, itemId);
  if (item.container_type === 'bank') throw new ItemNotAllowedError(itemId, 'in the bank');
  const mismatch = slotMismatch(slot, item.item_type, item.item_subtype);
  if (mismatch) throw new ItemNotAllowedError(itemId, mismatch);
  const req = (typeof item.requirements === 'string' ? JSON.parse(item.requirements) : item.requirements) as {
    level?: number;
    faction?: string;
  } | null;
  if (req?.level || req?.faction) {
    const [c] = await conn.rows<{ level: number; faction: string }>('SELECT level, faction FROM characters WHERE character_id = ?', [
      owner.characterId,
    ]);
    if (req.level && Number(c!.level) < req.level) throw new RequirementNotMetError('level', `item ${itemId} needs level ${req.level}`);
    if (req.faction && c!.faction !== req.faction)
      throw new RequirementNotMetError('faction', `item ${itemId} needs faction ${req.faction}`);
  }
  const [current] = await conn.rows<{ item_id: number | null }>(
    'SELECT item_id FROM character_equipment WHERE character_id = ? AND slot_name = ? FOR UPDATE',
    [owner.characterId, slot],
  );
  const replaced = current?.item_id === null || current === undefined ? null : Number(current.item_id);
  if (replaced === itemId) return { replacedItemId: null, bound: Boolean(item.is_bound) };
  const worn = wornOf(slot);
  // The replaced item takes the backpack slot the equipped one leaves (the client's swap), else the first free one.
  const freed = item.container_type === 'inventory' ? item.slot_position : null;
  if (replaced !== null)
    await conn.exec("UPDATE character_inventory SET container_type = 'inventory', slot_position = NULL WHERE item_id = ?", [replaced]);
  // Worn elsewhere: it leaves that slot (an item is in at most one slot: uq_character_equipment_item).
  if (item.slot_name) await leaveSlot(conn, owner, item.slot_name as SlotName);
  await conn.exec(
    'INSERT INTO character_equipment (character_id, slot_name, item_id) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE item_id = VALUES(item_id)',
    [owner.characterId, slot, itemId],
  );
  const bound = Boolean(item.is_bound) || Boolean(item.bind_on_equip);
  await conn.exec("UPDATE character_inventory SET container_type = 'equipped', slot_position = ?, is_bound = ? WHERE item_id = ?", [
    worn?.slot ?? null,
    bound,
    itemId,
  ]);
  if (replaced !== null) {
    const place = freed !== null ? Number(freed) : (await freeSlots(conn, owner.characterId, 1))[0]!;
    await conn.exec('UPDATE character_inventory SET slot_position = ? WHERE item_id = ?', [place, replaced]);
  }
  // The worn part and the appearance change in the same transaction.
  if (worn) await drawWornPart(conn, owner.characterId, worn.part, Number(item.rsi_model ?? 0), Number(item.rsi_color ?? 0));
  return { replacedItemId: replaced, bound };
}

/** Removes a slot's equipment row and clears the appearance part it drew. */
async function leaveSlot(conn: PooledConnection, owner: Owner, slot: SlotName): Promise<void> {
  await conn.exec('DELETE FROM character_equipment WHERE character_id = ? AND slot_name = ?', [owner.characterId, slot]);
  const worn = wornOf(slot);
  if (worn) await drawWornPart(conn, owner.characterId, worn.part, 0, 0);
}

/**
 * Empties a slot; its item goes back to the inventory, into `toSlot` (free: the caller checked)
 * or the first free backpack slot.
 */
export async function unequipSlot(
  conn: PooledConnection,
  owner: Owner,
  slot: SlotName,
  toSlot?: number,
): Promise<{ itemId: number; slotPosition: number | null }> {
  const [row] = await conn.rows<{ item_id: number | null }>(
    'SELECT item_id FROM character_equipment WHERE character_id = ? AND slot_name = ? FOR UPDATE',
    [owner.characterId, slot],
  );
  if (!row || row.item_id === null) throw new NotFoundError('equipped item in slot', slot);
  await leaveSlot(conn, owner, slot);
  const place = toSlot ?? (await freeSlots(conn, owner.characterId, 1))[0]!;
  await conn.exec("UPDATE character_inventory SET container_type = 'inventory', slot_position = ? WHERE item_id = ?", [place, row.item_id]);
  return { itemId: Number(row.item_id), slotPosition: place };
}

/** Moves an unequipped item to a container and slot; a slot holds at most one item. */
export async function moveItem(
  conn: PooledConnection,
  owner: Owner,
  itemId: number,
  containerType: string,
  slotPosition: number | null,
): Promise<void> {
  const item = await lockOwnedItem(conn, owner, itemId);
  if (item.container_type === 'equipped' || item.slot_name) throw new ItemNotAllowedError(itemId, 'equipped: unequip it first');
  if (slotPosition !== null) {
    // The character row is locked, so no concurrent move of this character can take the slot meanwhile.
    const [other] = await conn.rows<{ item_id: number }>(
      'SELECT item_id FROM character_inventory WHERE character_id = ? AND container_type = ? AND slot_position = ? AND item_id <> ? LIMIT 1',
      [owner.characterId, containerType, slotPosition, itemId],
    );
    if (other) throw new ItemNotAllowedError(itemId, `${containerType} slot ${slotPosition} holds item ${other.item_id}`);
  }
  await conn.exec('UPDATE character_inventory SET container_type = ?, slot_position = ? WHERE item_id = ?', [
    containerType,
    slotPosition,
    itemId,
  ]);
}

/** Uses up `quantity` of a consumable stack; an empty stack is deleted. */
export async function consumeItem(conn: PooledConnection, owner: Owner, itemId: number, quantity: number): Promise<{ remaining: number }> {
  const item = await lockOwnedItem(conn, owner, itemId);
  if (item.item_type !== 'consumable') throw new ItemNotAllowedError(itemId, `a ${item.item_type} is not consumable`);
  const have = Number(item.quantity);
  if (quantity > have) throw new ItemNotAllowedError(itemId, `the stack holds ${have}, cannot consume ${quantity}`);
  if (quantity === have) await conn.exec('DELETE FROM character_inventory WHERE item_id = ?', [itemId]);
  else await conn.exec('UPDATE character_inventory SET quantity = quantity - ? WHERE item_id = ?', [quantity, itemId]);
  await bumpEconomy(conn, { itemsDestroyed: quantity });
  return { remaining: have - quantity };
}

/** Destroys a whole stack (leaving its slot if worn); items that cannot be dropped are refused. */
export async function destroyItem(conn: PooledConnection, owner: Owner, itemId: number): Promise<{ quantity: number }> {
  const item = await lockOwnedItem(conn, owner, itemId);
  if (!item.is_droppable) throw new ItemNotAllowedError(itemId, 'cannot be destroyed (not droppable)');
  if (item.slot_name) await leaveSlot(conn, owner, item.slot_name as SlotName);
  await conn.exec('DELETE FROM character_inventory WHERE item_id = ?', [itemId]);
  await bumpEconomy(conn, { itemsDestroyed: Number(item.quantity) });
  return { quantity: Number(item.quantity) };
}

/** Charges `cost` with a `repair_cost` ledger row (the seed's money sink for item care). */
async function charge(conn: PooledConnection, owner: Owner, cost: number, reason: string, itemId: number): Promise<void> {
  if (cost === 0) return;
  if (owner.money < cost) throw new InsufficientFundsError(owner.characterId, cost, owner.money);
  await conn.exec('UPDATE characters SET money = money - ? WHERE character_id = ?', [cost, owner.characterId]);
  await conn.exec(
    `INSERT INTO transaction_history (from_character_id, transaction_type, money_amount, items_transferred, transaction_reason, district_id)
     VALUES (?, 'repair_cost', ?, ?, ?, ?)`,
    [owner.characterId, cost, JSON.stringify([{ itemId }]), reason, owner.districtId],
  );
  await conn.exec('UPDATE character_statistics SET money_spent = money_spent + ? WHERE character_id = ?', [cost, owner.characterId]);
}

/** Applies a modification: an `item_modifications` row, its cost charged. */
export async function modifyItem(
  conn: PooledConnection,
  owner: Owner,
  itemId: number,
  mod: { modificationType: string; modificationData: unknown; cost: number },
): Promise<{ modificationId: number; money: number }> {
  await lockOwnedItem(conn, owner, itemId);
  await charge(conn, owner, mod.cost, `item modification: ${mod.modificationType}`, itemId);
  const header = await conn.exec(
    'INSERT INTO item_modifications (item_id, modification_type, modification_data, applied_by, cost_paid) VALUES (?, ?, ?, ?, ?)',
    [itemId, mod.modificationType, JSON.stringify(mod.modificationData), owner.characterId, mod.cost],
  );
  return { modificationId: Number(header.insertId), money: owner.money - mod.cost };
}

/** Restores durability to 100 for the repair cost (src/systems/shared/equipment-slots.ts, repairCost). */
export async function repairItem(
  conn: PooledConnection,
  owner: Owner,
  itemId: number,
): Promise<{ cost: number; durability: number; money: number }> {
  const item = await lockOwnedItem(conn, owner, itemId);
  const durability = Number(item.durability);
  const cost = repairCost(Number(item.base_value), durability);
  if (durability >= 100) return { cost: 0, durability, money: owner.money };
  await charge(conn, owner, cost, 'repair', itemId);
  await conn.exec('UPDATE character_inventory SET durability = 100 WHERE item_id = ?', [itemId]);
  await conn.exec(
    "INSERT INTO item_modifications (item_id, modification_type, modification_data, applied_by, cost_paid) VALUES (?, 'repair', ?, ?, ?)",
    [itemId, JSON.stringify({ durabilityBefore: durability, durabilityAfter: 100 }), owner.characterId, cost],
  );
  return { cost, durability: 100, money: owner.money - cost };
}
