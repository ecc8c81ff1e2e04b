import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW } from '../pool/mysql-errors.js';
import type { Consistency } from '../routing/read-router.js';
import { parseInput } from '../validate.js';
import { lockCharacter } from '../sql/character-lock.js';
import { consistencyOf } from '../routing/consistency.js';
import type { RepoContext } from './context.js';

const id = z.number().int().positive();
const grantInput = z
  .object({
    templateId: id,
    quantity: z.number().int().min(1).max(2_147_483_647).default(1),
    acquiredMethod: z.enum(['loot', 'purchase', 'trade', 'quest', 'admin']).default('admin'),
    containerType: z.enum(['inventory', 'bank', 'temp']).default('inventory'),
    slotPosition: z.number().int().min(0).optional(),
  })
  .strict();

/** One item instance (a row of character_inventory). */
export interface InventoryItem {
  itemId: number;
  characterId: number;
  templateId: number;
  quantity: number;
  durability: number;
  containerType: string;
  slotPosition: number | null;
  acquiredMethod: string;
  isBound: boolean;
}

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
}

/** Item instances owned by characters; ids are unique across the cluster and never change. */
export class Inventory {
  constructor(private readonly ctx: RepoContext) {}

  /** Gives a character a new item instance. */
  async grant(characterId: number, input: z.input<typeof grantInput>): Promise<InventoryItem> {
    const cid = parseInput(id, characterId, 'character id');
    const data = parseInput(grantInput, input, 'item grant');
    const itemId = await this.ctx.ids.next('item_id');
    try {
      await this.ctx.router.onCharacter('inventory_grant', cid, async (conn, route) => {
        await lockCharacter(conn, cid, route.shard);
        await conn.exec(
          `INSERT INTO character_inventory (item_id, character_id, template_id, quantity, container_type, slot_position, acquired_method)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [itemId, cid, data.templateId, data.quantity, data.containerType, data.slotPosition ?? null, data.acquiredMethod],
        );
      });
    } catch (error) {
      if (errnoOf(error) === ER_NO_REFERENCED_ROW) throw new NotFoundError('item template', data.templateId, { cause: error });
      throw error;
    }
    return {
      itemId,
      characterId: cid,
      templateId: data.templateId,
      quantity: data.quantity,
      durability: 100,
      containerType: data.containerType,
      slotPosition: data.slotPosition ?? null,
      acquiredMethod: data.acquiredMethod,
      isBound: false,
    };
  }

  /** A character's items (replica-eligible; `session` by default). */
  async list(characterId: number, options: { consistency?: Consistency } = {}): Promise<InventoryItem[]> {
    const cid = parseInput(id, characterId, 'character id');
    const consistency = consistencyOf(options, 'session');
    const rows = await this.ctx.router.readCharacter('inventory_list', cid, consistency, async (conn) => {
      // Joined from characters: no row at all means the character is not on this shard.
      const joined = await conn.rows<ItemRow>(
        `SELECT ci.item_id, c.character_id, ci.template_id, ci.quantity, ci.durability, ci.container_type, ci.slot_position,
                  ci.acquired_method, ci.is_bound
             FROM characters c LEFT JOIN character_inventory ci ON ci.character_id = c.character_id
            WHERE c.character_id = ? ORDER BY ci.item_id`,
        [cid],
      );
      return joined.length === 0 ? undefined : joined.filter((r) => r.item_id !== null);
    });
    return rows.map(toItem);
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
  };
}
