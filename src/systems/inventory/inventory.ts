import { z } from 'zod';
import { ItemNotAllowedError, NotFoundError, ValidationError } from '../../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW } from '../../pool/mysql-errors.js';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput } from '../../validate.js';
import { lockCharacter } from '../../routing/character-lock.js';
import { remember, replayOf } from '../../routing/idempotency.js';
import { consistencyOf } from '../../routing/consistency.js';
import { SLOT_NAMES, WORN_SLOTS, type SlotName } from '../shared/equipment-slots.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import { itemAtSlot, moveSlot, type SlotMove } from '../shared/inventory-slots.js';
import { freeSlots } from '../shared/slot-allocation.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consumeItem, destroyItem, equipItem, modifyItem, moveItem, repairItem, unequipSlot, type Owner } from '../shared/item-care.js';
import type { RepoContext } from '../shared/context.js';
import {
  careOptions,
  clientSlot,
  grantInput,
  id,
  modificationInput,
  placeInput,
  type InventoryItem,
  type ItemGrant,
  type ItemModification,
  type ItemModificationRecord,
  type ItemPlace,
} from '../shared/inventory-inputs.js';

export type { InventoryItem, ItemGrant, ItemModification, ItemModificationRecord, ItemPlace };

interface ItemRow {
  item_id: number;
  character_id: number;
  template_id: number;
  quantity: number;
  durability: number;
  container_type: string;
  slot_position: number | null;
  acquired_method: string;
  is_bound: number;
  purity?: number;
}

/** Item instances owned by characters; ids are unique across the cluster and never change. */
export class Inventory {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Gives a character a new item instance. With `idempotencyKey`, a retry (e.g. after an
   * OutcomeUnknownError) returns the item the first call created and creates nothing; the key
   * with another request throws IdempotencyKeyReusedError. A quantity above the template's
   * `stack_size` is refused (ValidationError on `quantity`, nothing written): grant several items.
   * @example const sword = await db.inventory.grant(id, { templateId: 12, acquiredMethod: 'quest', idempotencyKey: 'quest-77-item' });
   */
  async grant(characterId: number, input: ItemGrant): Promise<InventoryItem> {
    const cid = parseInput(id, characterId, 'character id');
    const data = parseInput(grantInput, input, 'item grant');
    const { idempotencyKey, ...request } = data;
    const itemId = await this.ctx.ids.next('item_id');
    const item: InventoryItem = {
      itemId,
      characterId: cid,
      templateId: data.templateId,
      quantity: data.quantity,
      durability: 100,
      containerType: data.containerType,
      slotPosition: data.slotPosition ?? null,
      acquiredMethod: data.acquiredMethod,
      isBound: false,
      purity: data.purity,
    };
    try {
      return await this.ctx.router.onCharacter('inventory_grant', cid, async (conn, route) => {
        await lockCharacter(conn, cid, route.shard);
        const call =
          idempotencyKey === undefined ? undefined : { key: idempotencyKey, characterId: cid, operation: 'inventory_grant', request };
        // A retry of a grant that committed returns the first item (this call's id goes unused).
        const earlier = call && (await replayOf<InventoryItem>(conn, call));
        if (earlier) return earlier;
        // One item is one stack: a grant above the template's stack size would mint a stack no
        // vendor or loot could (issue 23).
        const [tpl] = await conn.rows<{ stack_size: number | null }>('SELECT stack_size FROM item_templates WHERE template_id = ?', [
          data.templateId,
        ]);
        if (!tpl) throw new NotFoundError('item template', data.templateId);
        const stack = Math.max(1, Number(tpl.stack_size ?? 1));
        if (data.quantity > stack) {
          throw new ValidationError('item grant', [{ field: 'quantity', message: `above the template's stack size ${stack}` }]);
        }
        // The character row is locked: the first free slot stays free until this commits.
        const slot = data.slotPosition ?? (data.containerType === 'inventory' ? (await freeSlots(conn, cid, 1))[0]! : null);
        await conn.exec(
          `INSERT INTO character_inventory (item_id, character_id, template_id, quantity, container_type, slot_position, acquired_method, purity)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [itemId, cid, data.templateId, data.quantity, data.containerType, slot, data.acquiredMethod, data.purity],
        );
        const placed = { ...item, slotPosition: slot };
        if (call) await remember(conn, call, placed);
        return placed;
      });
    } catch (error) {
      if (errnoOf(error) === ER_NO_REFERENCED_ROW) throw new NotFoundError('item template', data.templateId, { cause: error });
      if (isDuplicateKey(error, 'uq_character_inventory_slot'))
        throw new ItemNotAllowedError(itemId, `${data.containerType} slot ${data.slotPosition} is taken`);
      throw error;
    }
  }

  /**
   * A character's items (replica-eligible; `session` by default).
   *
   * @example
   * const items = await db.inventory.list(characterId);
   */
  async list(characterId: number, options: { consistency?: Consistency } = {}): Promise<InventoryItem[]> {
    const cid = parseInput(id, characterId, 'character id');
    const consistency = consistencyOf(options, 'session');
    const rows = await this.ctx.router.readCharacter('inventory_list', cid, consistency, async (conn) => {
      // Joined from characters: no row at all means the character is not on this shard.
      const joined = await conn.rows<ItemRow>(
        `SELECT ci.item_id, c.character_id, ci.template_id, ci.quantity, ci.durability, ci.container_type, ci.slot_position,
                  ci.acquired_method, ci.is_bound, ci.purity
             FROM characters c LEFT JOIN character_inventory ci ON ci.character_id = c.character_id
            WHERE c.character_id = ? ORDER BY ci.item_id`,
        [cid],
      );
      return joined.length === 0 ? undefined : joined.filter((r) => r.item_id !== null);
    });
    return rows.map(toItem);
  }

  /**
   * The item in a client inventory slot (backpack 0x00-0x60, worn clothing 0x61-0x68), or null.
   * @example
   * const hat = await db.inventory.getBySlot(characterId, 0x61);
   */
  async getBySlot(characterId: number, slot: number, options: { consistency?: Consistency } = {}): Promise<InventoryItem | null> {
    const cid = parseInput(id, characterId, 'character id');
    const at = parseInput(clientSlot, slot, 'slot');
    return this.ctx.router.readCharacter('inventory_get_by_slot', cid, consistencyOf(options, 'session'), async (conn) => {
      const [character] = await conn.rows('SELECT character_id FROM characters WHERE character_id = ?', [cid]);
      if (!character) return undefined;
      const row = await itemAtSlot(conn, cid, at);
      return row ? toItem(row as unknown as ItemRow) : null;
    });
  }

  /**
   * Moves the item in one client slot to another, swapping with the item there. Into a worn slot
   * (0x61-0x68) it is an equip (slot rules; the appearance follows), out of one an unequip.
   * Returns where each item ended up.
   * @example
   * await db.inventory.moveSlot(characterId, 3, 0x61); // wear the hat from slot 3
   */
  async moveSlot(characterId: number, fromSlot: number, toSlot: number): Promise<SlotMove[]> {
    const cid = parseInput(id, characterId, 'character id');
    const from = parseInput(clientSlot, fromSlot, 'fromSlot');
    const to = parseInput(clientSlot, toSlot, 'toSlot');
    return this.care('inventory_move_slot', cid, (conn, owner) => moveSlot(conn, owner, from, to));
  }

  /**
   * The modifications applied to an item (`item_modifications`, oldest first), repairs included.
   * @example
   * const mods = await db.inventory.modifications(characterId, itemId);
   */
  async modifications(characterId: number, itemId: number, options: { consistency?: Consistency } = {}): Promise<ItemModificationRecord[]> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    return this.ctx.router.readCharacter('item_modifications', cid, consistencyOf(options, 'session'), async (conn) => {
      const rows = await conn.rows<Record<string, unknown>>(
        `SELECT c.character_id, ci.item_id, m.modification_id, m.modification_type, m.modification_data, m.applied_date, m.applied_by, m.cost_paid
           FROM characters c LEFT JOIN character_inventory ci ON ci.character_id = c.character_id AND ci.item_id = ?
           LEFT JOIN item_modifications m ON m.item_id = ci.item_id WHERE c.character_id = ? ORDER BY m.modification_id`,
        [iid, cid],
      );
      if (rows.length === 0) return undefined;
      if (rows[0]!.item_id === null) throw new NotFoundError('item', iid);
      return rows
        .filter((r) => r.modification_id !== null)
        .map((r) => ({
          modificationId: Number(r.modification_id),
          modificationType: String(r.modification_type) as ItemModification['modificationType'],
          modificationData: (typeof r.modification_data === 'string' ? JSON.parse(r.modification_data) : r.modification_data) as Record<
            string,
            unknown
          >,
          appliedDate: r.applied_date as Date,
          appliedBy: r.applied_by === null ? null : Number(r.applied_by),
          costPaid: Number(r.cost_paid),
        }));
    });
  }

  /**
   * Equips an item in an equipment slot (slot rules in src/systems/shared/equipment-slots.ts); the slot's
   * previous item returns to the inventory; a bind-on-equip item becomes bound.
   * @example
   * await db.inventory.equip(characterId, itemId, 'clothing_face');
   */
  async equip(characterId: number, itemId: number, slotName: SlotName): Promise<{ replacedItemId: number | null; bound: boolean }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const slot = parseInput(z.enum(SLOT_NAMES), slotName, 'slot name');
    return this.care('inventory_equip', cid, (conn, owner) => equipItem(conn, owner, iid, slot));
  }

  /**
   * Empties an equipment slot; its item returns to the inventory.
   * @example
   * const { itemId } = await db.inventory.unequip(characterId, 'clothing_face');
   */
  async unequip(characterId: number, slotName: SlotName): Promise<{ itemId: number; slotPosition: number | null }> {
    const cid = parseInput(id, characterId, 'character id');
    const slot = parseInput(z.enum(SLOT_NAMES), slotName, 'slot name');
    return this.care('inventory_unequip', cid, (conn, owner) => unequipSlot(conn, owner, slot));
  }

  /**
   * Moves an unequipped item to a container and slot; refuses a slot that holds another item.
   * @example
   * await db.inventory.move(characterId, itemId, { containerType: 'bank', slotPosition: 3 });
   */
  async move(characterId: number, itemId: number, to: ItemPlace): Promise<void> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const place = parseInput(placeInput, to, 'item place');
    await this.care('inventory_move', cid, (conn, owner) => moveItem(conn, owner, iid, place.containerType, place.slotPosition ?? null));
  }

  /**
   * Uses up part of a consumable stack (the whole stack deletes the item).
   * @example
   * const { remaining } = await db.inventory.consume(characterId, itemId, 1);
   */
  async consume(characterId: number, itemId: number, quantity = 1): Promise<{ remaining: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const n = parseInput(z.number().int().min(1).max(2_147_483_647), quantity, 'quantity');
    return this.care('inventory_consume', cid, (conn, owner) => consumeItem(conn, owner, iid, n));
  }

  /**
   * Destroys an item (the whole stack); refuses items that cannot be dropped.
   * @example
   * await db.inventory.destroy(characterId, itemId);
   */
  async destroy(characterId: number, itemId: number): Promise<{ quantity: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    return this.care('inventory_destroy', cid, (conn, owner) => destroyItem(conn, owner, iid));
  }

  /**
   * Records a modification of an item (`item_modifications`) and charges its cost.
   * @example
   * await db.inventory.modify(characterId, itemId, { modificationType: 'enhancement', modificationData: { accuracy: 2 }, cost: 40 });
   */
  async modify(
    characterId: number,
    itemId: number,
    modification: ItemModification,
    options: { idempotencyKey?: string } = {},
  ): Promise<{ modificationId: number; money: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const mod = parseInput(modificationInput, modification, 'item modification');
    const { idempotencyKey } = parseInput(careOptions, options, 'options');
    return this.care(
      'inventory_modify',
      cid,
      (conn, owner) => modifyItem(conn, owner, iid, mod),
      idempotencyKey && { key: idempotencyKey, request: { iid, mod } },
    );
  }

  /**
   * Restores an item's durability to 100 and charges the repair cost (`repair_cost` ledger row).
   * @example
   * const { cost } = await db.inventory.repair(characterId, itemId);
   */
  async repair(
    characterId: number,
    itemId: number,
    options: { idempotencyKey?: string } = {},
  ): Promise<{ cost: number; durability: number; money: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const { idempotencyKey } = parseInput(careOptions, options, 'options');
    return this.care(
      'inventory_repair',
      cid,
      (conn, owner) => repairItem(conn, owner, iid),
      idempotencyKey && { key: idempotencyKey, request: { iid } },
    );
  }

  /**
   * Item care runs on the character's shard with its row locked first; calls that charge money
   * take an idempotency key (src/routing/idempotency.ts): a retry returns the first result.
   */
  private care<T>(
    operation: string,
    cid: number,
    work: (conn: PooledConnection, owner: Owner) => Promise<T>,
    idempotent?: { key: string; request: unknown } | '',
  ): Promise<T> {
    return this.ctx.router.onCharacter(operation, cid, async (conn, route) => {
      const row = await lockCharacter(conn, cid, route.shard);
      const call = idempotent ? { key: idempotent.key, characterId: cid, operation, request: idempotent.request } : undefined;
      const earlier = call && (await replayOf<T>(conn, call));
      if (earlier) return earlier;
      const result = await work(conn, { characterId: cid, money: Number(row.money), districtId: Number(row.district_id) });
      if (call) await remember(conn, call, result);
      return result;
    });
  }
}

export function toItem(row: ItemRow): InventoryItem {
  return {
    itemId: Number(row.item_id),
    characterId: Number(row.character_id),
    templateId: Number(row.template_id),
    quantity: Number(row.quantity),
    durability: Number(row.durability),
    containerType: row.container_type,
    slotPosition: row.slot_position === null ? null : Number(row.slot_position),
    acquiredMethod: row.acquired_method,
    isBound: Boolean(row.is_bound),
    purity: Number(row.purity ?? 0),
  };
}
