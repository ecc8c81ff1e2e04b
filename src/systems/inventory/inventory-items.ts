import { z } from 'zod';
import { ItemNotAllowedError, NotFoundError, ValidationError } from '../../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW } from '../../pool/mysql-errors.js';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput } from '../../validate.js';
import { remember, replayOf } from '../../routing/idempotency.js';
import { consistencyOf } from '../../routing/consistency.js';
import { SLOT_NAMES, WORN_SLOTS, type SlotName } from '../shared/equipment-slots.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import { freeSlots } from '../shared/slot-allocation.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consumeItem, destroyItem, equipItem, modifyItem, moveItem, repairItem, unequipSlot, type Owner } from '../shared/item-care.js';
import type { RepoContext } from '../shared/context.js';
import {
  careOptions,
  grantInput,
  id,
  modificationInput,
  placeInput,
  type ClientItemGrant,
  type InventoryItem,
  type ItemGrant,
  type ItemModification,
  type ItemModificationRecord,
  type ItemPlace,
} from '../shared/inventory-inputs.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

export type { ClientItemGrant, InventoryItem, ItemGrant, ItemModification, ItemModificationRecord, ItemPlace };

export interface ItemRow {
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
  client_object_id?: number | null;
}

/**
 * `db.inventory`, part one: item instances owned by characters (grant, list, equip, move, use,
 * modify, repair); ids are unique across the cluster and never change. The client's slot view is
 * {@link Inventory} (src/systems/inventory/inventory.ts).
 */
export class InventoryItems {
  constructor(protected readonly ctx: RepoContext) {}

  /**
   * Gives a character a new item instance. With `idempotencyKey`, a retry (e.g. after an
   * OutcomeUnknownError) returns the item the first call created and creates nothing; the key
   * with another request throws IdempotencyKeyReusedError. A quantity above the template's
   * `stack_size` is refused (ValidationError on `quantity`, nothing written): grant several items.
   * @example const sword = await db.inventory.grant(id, { templateId: 12, acquiredMethod: 'quest', idempotencyKey: 'quest-77-item' });
   */
  async grant(characterId: number, input: ItemGrant, options: WriteOptions = {}): Promise<InventoryItem> {
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
      clientItemId: null,
    };
    try {
      return await this.ctx.router.onCharacter(
        'inventory_grant',
        cid,
        async (conn, route) => {
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
          const [template] = await conn.rows<{ client_object_id: number | null }>(
            'SELECT client_object_id FROM item_templates WHERE template_id = ?',
            [data.templateId],
          );
          const placed = {
            ...item,
            slotPosition: slot,
            clientItemId: template?.client_object_id == null ? null : Number(template.client_object_id),
          };
          if (call) await remember(conn, call, placed);
          return placed;
        },
        fencing(options),
      );
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
                  ci.acquired_method, ci.is_bound, ci.purity, t.client_object_id
             FROM characters c LEFT JOIN character_inventory ci ON ci.character_id = c.character_id
             LEFT JOIN item_templates t ON t.template_id = ci.template_id
            WHERE c.character_id = ? ORDER BY ci.item_id`,
        [cid],
      );
      return joined.length === 0 ? undefined : joined.filter((r) => r.item_id !== null);
    });
    return rows.map(toItem);
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
  async equip(
    characterId: number,
    itemId: number,
    slotName: SlotName,
    options: WriteOptions = {},
  ): Promise<{ replacedItemId: number | null; bound: boolean }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const slot = parseInput(z.enum(SLOT_NAMES), slotName, 'slot name');
    return this.care('inventory_equip', cid, (conn, owner) => equipItem(conn, owner, iid, slot), '', options);
  }

  /**
   * Empties an equipment slot; its item returns to the inventory.
   * @example
   * const { itemId } = await db.inventory.unequip(characterId, 'clothing_face');
   */
  async unequip(
    characterId: number,
    slotName: SlotName,
    options: WriteOptions = {},
  ): Promise<{ itemId: number; slotPosition: number | null }> {
    const cid = parseInput(id, characterId, 'character id');
    const slot = parseInput(z.enum(SLOT_NAMES), slotName, 'slot name');
    return this.care('inventory_unequip', cid, (conn, owner) => unequipSlot(conn, owner, slot), '', options);
  }

  /**
   * Moves an unequipped item to a container and slot; refuses a slot that holds another item.
   * @example
   * await db.inventory.move(characterId, itemId, { containerType: 'bank', slotPosition: 3 });
   */
  async move(characterId: number, itemId: number, to: ItemPlace, options: WriteOptions = {}): Promise<void> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const place = parseInput(placeInput, to, 'item place');
    await this.care(
      'inventory_move',
      cid,
      (conn, owner) => moveItem(conn, owner, iid, place.containerType, place.slotPosition ?? null),
      '',
      options,
    );
  }

  /**
   * Uses up part of a consumable stack (the whole stack deletes the item).
   * @example
   * const { remaining } = await db.inventory.consume(characterId, itemId, 1);
   */
  async consume(characterId: number, itemId: number, quantity = 1, options: WriteOptions = {}): Promise<{ remaining: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const n = parseInput(z.number().int().min(1).max(2_147_483_647), quantity, 'quantity');
    return this.care('inventory_consume', cid, (conn, owner) => consumeItem(conn, owner, iid, n), '', options);
  }

  /**
   * Destroys an item (the whole stack); refuses items that cannot be dropped.
   * @example
   * await db.inventory.destroy(characterId, itemId);
   */
  async destroy(characterId: number, itemId: number, options: WriteOptions = {}): Promise<{ quantity: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    return this.care('inventory_destroy', cid, (conn, owner) => destroyItem(conn, owner, iid), '', options);
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
    options: { idempotencyKey?: string } & WriteOptions = {},
  ): Promise<{ modificationId: number; money: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const mod = parseInput(modificationInput, modification, 'item modification');
    const { fencingToken, ...keyed } = options;
    const { idempotencyKey } = parseInput(careOptions, keyed, 'options');
    return this.care(
      'inventory_modify',
      cid,
      (conn, owner) => modifyItem(conn, owner, iid, mod),
      idempotencyKey && { key: idempotencyKey, request: { iid, mod } },
      { fencingToken },
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
    options: { idempotencyKey?: string } & WriteOptions = {},
  ): Promise<{ cost: number; durability: number; money: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const iid = parseInput(id, itemId, 'item id');
    const { fencingToken, ...keyed } = options;
    const { idempotencyKey } = parseInput(careOptions, keyed, 'options');
    return this.care(
      'inventory_repair',
      cid,
      (conn, owner) => repairItem(conn, owner, iid),
      idempotencyKey && { key: idempotencyKey, request: { iid } },
      { fencingToken },
    );
  }

  /**
   * Item care runs on the character's shard with its row locked first; calls that charge money
   * take an idempotency key (src/routing/idempotency.ts): a retry returns the first result.
   */
  protected care<T>(
    operation: string,
    cid: number,
    work: (conn: PooledConnection, owner: Owner) => Promise<T>,
    idempotent?: { key: string; request: unknown } | '',
    options: WriteOptions = {},
  ): Promise<T> {
    return this.ctx.router.onCharacter(
      operation,
      cid,
      async (conn, route, _tx, row) => {
        const call = idempotent ? { key: idempotent.key, characterId: cid, operation, request: idempotent.request } : undefined;
        const earlier = call && (await replayOf<T>(conn, call));
        if (earlier) return earlier;
        const result = await work(conn, { characterId: cid, money: Number(row.money), districtId: Number(row.district_id) });
        if (call) await remember(conn, call, result);
        return result;
      },
      fencing(options),
    );
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
    clientItemId: row.client_object_id == null ? null : Number(row.client_object_id),
  };
}
