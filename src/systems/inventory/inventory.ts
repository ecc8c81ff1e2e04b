import { ItemNotAllowedError, NotFoundError } from '../../errors.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import type { Consistency } from '../../routing/read-router.js';
import { consistencyOf } from '../../routing/consistency.js';
import { parseInput } from '../../validate.js';
import { clientObjectId } from '../shared/client-ids.js';
import { clientGrantInput, clientSlot, id, type ClientItemGrant, type InventoryItem } from '../shared/inventory-inputs.js';
import { itemAtSlot, moveSlot, type SlotMove } from '../shared/inventory-slots.js';
import { freeSlots } from '../shared/slot-allocation.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import { InventoryItems, toItem, type ItemRow } from './inventory-items.js';

export type { ClientItemGrant, InventoryItem, ItemGrant, ItemModification, ItemModificationRecord, ItemPlace } from './inventory-items.js';

/**
 * `db.inventory`: the item calls of {@link InventoryItems}, and the client's view of them
 * (contract part four): items by the client's item id (goid) and by client inventory slot.
 */
export class Inventory extends InventoryItems {
  /**
   * Gives a character an item by the client's item id (goid), as Hardline Dreams does: into
   * `slot` (a backpack slot) or the first free one, in one transaction on the character's shard
   * (the template found in the shard's copy of item_templates). NotFoundError for an unknown id.
   * @example const item = await db.inventory.grantByClientId(characterId, 0x8a0f0012, { slot: 3, count: 1, purity: 0 });
   */
  async grantByClientId(characterId: number, clientItemId: number, options: ClientItemGrant = {}): Promise<InventoryItem> {
    const cid = parseInput(id, characterId, 'character id');
    const goid = parseInput(clientObjectId, clientItemId, 'client item id');
    const data = parseInput(clientGrantInput, options, 'item grant');
    const itemId = await this.ctx.ids.next('item_id');
    try {
      return await this.ctx.router.onCharacter(
        'inventory_grant_by_client_id',
        cid,
        async (conn) => {
          const [template] = await conn.rows<{ template_id: number }>('SELECT template_id FROM item_templates WHERE client_object_id = ?', [
            goid,
          ]);
          if (!template) throw new NotFoundError('client item id', goid);
          const slot = data.slot ?? (await freeSlots(conn, cid, 1))[0]!;
          await conn.exec(
            `INSERT INTO character_inventory (item_id, character_id, template_id, quantity, container_type, slot_position, acquired_method, purity)
             VALUES (?, ?, ?, ?, 'inventory', ?, 'admin', ?)`,
            [itemId, cid, template.template_id, data.count, slot, data.purity],
          );
          return {
            itemId,
            characterId: cid,
            templateId: Number(template.template_id),
            quantity: data.count,
            durability: 100,
            containerType: 'inventory',
            slotPosition: slot,
            acquiredMethod: 'admin',
            isBound: false,
            purity: data.purity,
            clientItemId: goid,
          };
        },
        fencing(data),
      );
    } catch (error) {
      if (isDuplicateKey(error, 'uq_character_inventory_slot'))
        throw new ItemNotAllowedError(itemId, `inventory slot ${data.slot} is taken`);
      throw error;
    }
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
      if (!row) return null;
      const [template] = await conn.rows<{ client_object_id: number | null }>(
        'SELECT client_object_id FROM item_templates WHERE template_id = ?',
        [row.template_id],
      );
      return toItem({ ...(row as unknown as ItemRow), client_object_id: template?.client_object_id ?? null });
    });
  }

  /**
   * Moves the item in one client slot to another, swapping with the item there. Into a worn slot
   * (0x61-0x68) it is an equip (slot rules; the appearance follows), out of one an unequip.
   * Returns where each item ended up.
   * @example
   * await db.inventory.moveSlot(characterId, 3, 0x61); // wear the hat from slot 3
   */
  async moveSlot(characterId: number, fromSlot: number, toSlot: number, options: WriteOptions = {}): Promise<SlotMove[]> {
    const cid = parseInput(id, characterId, 'character id');
    const from = parseInput(clientSlot, fromSlot, 'fromSlot');
    const to = parseInput(clientSlot, toSlot, 'toSlot');
    return this.care('inventory_move_slot', cid, (conn, owner) => moveSlot(conn, owner, from, to), '', options);
  }
}
