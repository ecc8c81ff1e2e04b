import { z } from 'zod';
import {
  InsufficientFundsError,
  InvalidStateError,
  ItemNotAllowedError,
  NameTakenError,
  NotFoundError,
  OutOfStockError,
} from '../../errors.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import { GLOBAL } from '../../routing/topology.js';
import { checkDistrictFence } from '../../routing/district-fence.js';
import { clientObjectId } from '../shared/client-ids.js';
import { amount, bigId, faction, id, position, varchar } from '../shared/fields.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { bumpEconomy, readActor, vendorDistrict, vendorFor } from '../shared/vendor-rules.js';
import { readVendors, vendorLedger as ledger, type Vendor } from '../shared/vendor-rows.js';
import { keyed, remember, replayOf, type IdempotentCall } from '../../routing/idempotency.js';
import { shardOfWorldRow } from '../shared/world-rows.js';
import { itemAtSlot } from '../shared/inventory-slots.js';
import { freeSlots } from '../shared/slot-allocation.js';
import { WORN_SLOTS } from '../shared/equipment-slots.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import {
  buyInput,
  defineInput,
  sellInput,
  sellSlotInput,
  type VendorBuyInput,
  type VendorDefinition,
  type VendorPurchase,
  type VendorSale,
  type VendorSellInput,
  type VendorSellSlotInput,
} from './vendor-inputs.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

export type { VendorBuyInput, VendorDefinition, VendorPurchase, VendorSale, VendorSellInput, VendorSellSlotInput };

/**
 * Vendors live on their district's shard; a character deals with one only in that district, so
 * stock, money, items, the ledger and the economy counters change in one local transaction.
 */
export class Vendors {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Defines a vendor with its stock.
   * @example
   * const { vendorId } = await db.vendors.define({ vendorName: 'Tailor', districtId: 1, position: { x: 0, y: 0, z: 0 },
   *   vendorType: 'clothing', stock: [{ templateId, maxStock: 10, basePrice: 100 }] });
   */
  async define(input: VendorDefinition): Promise<{ vendorId: number }> {
    const v = parseInput(defineInput, input, 'vendor');
    const vendorId = await this.ctx.ids.next('world_id');
    const router = this.ctx.router;
    const insert = async (conn: PooledConnection): Promise<void> => {
      await conn.exec(
        `INSERT INTO vendors (vendor_id, vendor_name, district_id, position_x, position_y, position_z, vendor_type, faction_requirement,
           level_requirement, buy_rate, sell_markup, max_inventory_size, restocks_inventory, restock_interval, client_object_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          vendorId,
          v.vendorName,
          v.districtId,
          v.position.x,
          v.position.y,
          v.position.z,
          v.vendorType,
          v.factionRequirement ?? null,
          v.levelRequirement,
          v.buyRate,
          v.sellMarkup,
          v.maxInventorySize,
          v.restocksInventory,
          v.restockInterval,
          v.clientObjectId ?? null,
        ],
      );
      for (const s of v.stock) {
        const [tpl] = await conn.rows('SELECT 1 FROM item_templates WHERE template_id = ?', [s.templateId]);
        if (!tpl) throw new NotFoundError('item template', s.templateId);
        await conn.exec(
          `INSERT INTO vendor_inventory (vendor_id, template_id, current_stock, max_stock, base_price, current_price, restock_amount, restock_probability)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            vendorId,
            s.templateId,
            s.currentStock ?? s.maxStock,
            s.maxStock,
            s.basePrice,
            Math.round(s.basePrice * v.sellMarkup),
            s.restockAmount,
            s.restockProbability,
          ],
        );
      }
    };
    const cid = v.clientObjectId;
    if (cid === undefined) {
      await router.onDistrict('vendor_define', v.districtId, insert);
      return { vendorId };
    }
    // With a client id: its cluster-wide key on global and the vendor on its shard, in one two-phase commit.
    try {
      await router.withDistrict(v.districtId, (shard) =>
        router.onNodes('vendor_define', [shard, GLOBAL], GLOBAL, async (tx) => {
          await (
            await tx.branch(GLOBAL)
          ).exec('INSERT INTO vendor_client_ids (client_object_id, vendor_id) VALUES (?, ?)', [cid, vendorId]);
          const conn = await tx.branch(shard);
          await checkDistrictFence(conn, v.districtId, shard);
          await insert(conn);
        }),
      );
    } catch (error) {
      if (isDuplicateKey(error)) throw new NameTakenError('clientObjectId', String(cid), { cause: error });
      throw error;
    }
    return { vendorId };
  }

  /**
   * The vendor with this client object id (signed or unsigned form), or null: one read on global, one on its shard.
   * @example
   * const vendor = await db.vendors.byClientId(0x80001234);
   */
  async byClientId(id: number, options: { consistency?: Consistency } = {}): Promise<Vendor | null> {
    const cid = parseInput(clientObjectId, id, 'client object id');
    const [row] = await this.ctx.router.readGlobal('vendor_by_client_id', consistencyOf(options, 'session'), (conn) =>
      conn.rows<{ vendor_id: number }>('SELECT vendor_id FROM vendor_client_ids WHERE client_object_id = ?', [cid]),
    );
    return row ? this.get(Number(row.vendor_id), options) : null;
  }

  /**
   * Buys `quantity` of a template: stock down, money down, new item(s) (split by the template's
   * stack size), a `vendor_purchase` ledger row naming the vendor, economy counters: atomically.
   * Throws OutOfStockError, InsufficientFundsError, WrongDistrictError, RequirementNotMetError.
   * @example
   * const { itemIds, price } = await db.vendors.buy({ characterId, vendorId, templateId, quantity: 1 });
   */
  async buy(input: VendorBuyInput, options: WriteOptions = {}): Promise<VendorPurchase> {
    const b = parseInput(buyInput, input, 'vendor purchase');
    const district = await vendorDistrict(this.ctx.router, b.vendorId);
    const { idempotencyKey, ...request } = b;
    const call = keyed(idempotencyKey, b.characterId, 'vendor_buy', request);
    return this.ctx.router.onCharacter(
      'vendor_buy',
      b.characterId,
      async (conn, route, _tx, locked): Promise<VendorPurchase> => {
        const actor = await readActor(conn, b.characterId, locked);
        const earlier = call && (await replayOf<VendorPurchase>(conn, call));
        if (earlier) return { ...earlier, replayed: true };
        await vendorFor(conn, district, b.vendorId, actor);
        const [line] = await conn.rows<Record<string, number>>(
          `SELECT vi.current_stock, vi.current_price, it.stack_size, it.bind_on_pickup FROM vendor_inventory vi
             JOIN item_templates it ON it.template_id = vi.template_id WHERE vi.vendor_id = ? AND vi.template_id = ? FOR UPDATE`,
          [b.vendorId, b.templateId],
        );
        if (!line) throw new OutOfStockError(b.vendorId, b.templateId, b.quantity, 0);
        if (Number(line.current_stock) < b.quantity)
          throw new OutOfStockError(b.vendorId, b.templateId, b.quantity, Number(line.current_stock));
        const price = Number(line.current_price) * b.quantity;
        if (price > 2_147_483_647) throw new InsufficientFundsError(b.characterId, price, actor.money);
        if (actor.money < price) throw new InsufficientFundsError(b.characterId, price, actor.money);
        await conn.exec(
          'UPDATE vendor_inventory SET current_stock = current_stock - ?, total_sold = total_sold + ?, last_sold = NOW() WHERE vendor_id = ? AND template_id = ?',
          [b.quantity, b.quantity, b.vendorId, b.templateId],
        );
        await conn.exec('UPDATE characters SET money = money - ? WHERE character_id = ?', [price, b.characterId]);
        const stack = Math.max(1, Number(line.stack_size));
        const itemIds: number[] = [];
        for (let i = 0; i < Math.ceil(b.quantity / stack); i++) itemIds.push(await this.ctx.ids.next('item_id'));
        const items = itemIds.map((itemId, i) => ({
          itemId,
          templateId: b.templateId,
          quantity: Math.min(stack, b.quantity - i * stack),
        }));
        // Each new stack takes the next free backpack slot (the character row is locked).
        const slots = await freeSlots(conn, b.characterId, items.length);
        for (const [i, item] of items.entries()) {
          await conn.exec(
            `INSERT INTO character_inventory (item_id, character_id, template_id, quantity, acquired_method, acquired_from, is_bound, slot_position)
             VALUES (?, ?, ?, ?, 'purchase', ?, ?, ?)`,
            [item.itemId, b.characterId, b.templateId, item.quantity, `vendor:${b.vendorId}`, Boolean(line.bind_on_pickup), slots[i]],
          );
        }
        await ledger(conn, 'vendor_purchase', b.characterId, b.vendorId, price, items, actor.districtId);
        await conn.exec('UPDATE character_statistics SET money_spent = money_spent + ? WHERE character_id = ?', [price, b.characterId]);
        await bumpEconomy(conn, { vendorSales: price, itemsCreated: b.quantity });
        const purchase = { itemIds, price, money: actor.money - price, replayed: false };
        if (call) await remember(conn, call, purchase);
        return purchase;
      },
      fencing(options),
    );
  }

  /**
   * Sells an item to a vendor at its buy rate: the item is removed, money paid, a `vendor_sale`
   * ledger row written, the vendor's stock of that template grows (up to its maximum).
   * Refuses (ItemNotAllowedError) unsellable or equipped items.
   * @example
   * const { price } = await db.vendors.sell({ characterId, vendorId, itemId });
   */
  async sell(input: VendorSellInput, options: WriteOptions = {}): Promise<VendorSale> {
    const s = parseInput(sellInput, input, 'vendor sale');
    const { idempotencyKey, ...request } = s;
    return this.sellItem(s, keyed(idempotencyKey, s.characterId, 'vendor_sell', request), async () => s.itemId, options);
  }

  /**
   * Sells the item in a client inventory slot (as the client names it); otherwise as {@link Vendors.sell}.
   * An empty slot is NotFoundError; a worn slot (0x61-0x68) is refused as equipped.
   * @example
   * const { price } = await db.vendors.sellSlot({ characterId, vendorId, slot: 4 });
   */
  async sellSlot(input: VendorSellSlotInput, options: WriteOptions = {}): Promise<VendorSale> {
    const s = parseInput(sellSlotInput, input, 'vendor sale');
    const { idempotencyKey, ...request } = s;
    return this.sellItem(
      s,
      keyed(idempotencyKey, s.characterId, 'vendor_sell', request),
      async (conn) => {
        const item = await itemAtSlot(conn, s.characterId, s.slot, true);
        if (!item) throw new NotFoundError('item in slot', s.slot);
        return Number(item.item_id);
      },
      options,
    );
  }

  /** A sale: `locate` names the item once the character row is locked. */
  private async sellItem(
    s: { characterId: number; vendorId: number },
    call: IdempotentCall | undefined,
    locate: (conn: PooledConnection) => Promise<number>,
    options: WriteOptions = {},
  ): Promise<VendorSale> {
    const district = await vendorDistrict(this.ctx.router, s.vendorId);
    return this.ctx.router.onCharacter(
      'vendor_sell',
      s.characterId,
      async (conn, route, _tx, locked): Promise<VendorSale> => {
        const actor = await readActor(conn, s.characterId, locked);
        const earlier = call && (await replayOf<VendorSale>(conn, call));
        if (earlier) return { ...earlier, replayed: true };
        const vendor = await vendorFor(conn, district, s.vendorId, actor);
        const itemId = await locate(conn);
        const [item] = await conn.rows<Record<string, unknown>>(
          `SELECT ci.template_id, ci.quantity, ci.container_type, it.is_sellable, it.base_value,
                  EXISTS (SELECT 1 FROM character_equipment ce WHERE ce.item_id = ci.item_id) AS equipped
             FROM character_inventory ci JOIN item_templates it ON it.template_id = ci.template_id
            WHERE ci.item_id = ? AND ci.character_id = ? FOR UPDATE`,
          [itemId, s.characterId],
        );
        if (!item) throw new NotFoundError('item', itemId);
        if (!item.is_sellable) throw new ItemNotAllowedError(itemId, 'not sellable');
        if (item.container_type === 'equipped' || Number(item.equipped)) throw new ItemNotAllowedError(itemId, 'equipped');
        const quantity = Number(item.quantity);
        const [line] = await conn.rows<Record<string, number>>(
          'SELECT base_price FROM vendor_inventory WHERE vendor_id = ? AND template_id = ? FOR UPDATE',
          [s.vendorId, item.template_id],
        );
        const base = line ? Number(line.base_price) : Number(item.base_value);
        const price = Math.floor(base * Number(vendor.buy_rate)) * quantity;
        if (line) {
          await conn.exec(
            'UPDATE vendor_inventory SET current_stock = LEAST(max_stock, current_stock + ?) WHERE vendor_id = ? AND template_id = ?',
            [quantity, s.vendorId, item.template_id],
          );
        }
        await conn.exec('DELETE FROM character_inventory WHERE item_id = ?', [itemId]);
        await conn.exec('UPDATE characters SET money = money + ? WHERE character_id = ?', [price, s.characterId]);
        await ledger(
          conn,
          'vendor_sale',
          s.characterId,
          s.vendorId,
          price,
          [{ itemId: itemId, templateId: Number(item.template_id), quantity }],
          actor.districtId,
        );
        await conn.exec('UPDATE character_statistics SET money_earned = money_earned + ? WHERE character_id = ?', [price, s.characterId]);
        await bumpEconomy(conn, { itemsDestroyed: quantity });
        const sale = { price, money: actor.money + price, replayed: false };
        if (call) await remember(conn, call, sale);
        return sale;
      },
      fencing(options),
    );
  }

  /**
   * Restocks a vendor by its rules: only when it restocks at all and its interval has passed
   * (or `force`); each line gains `restock_amount` with `restock_probability`, capped at its
   * maximum and at the vendor's `max_inventory_size` in total.
   * @example
   * const { restocked } = await db.vendors.restock(vendorId);
   */
  async restock(vendorId: number, options: { force?: boolean } = {}): Promise<{ restocked: boolean; added: number }> {
    const vid = parseInput(id, vendorId, 'vendor id');
    const force = parseInput(z.boolean().default(false), options.force, 'force');
    const shard = await shardOfWorldRow(this.ctx.router, 'vendors', vid);
    return this.ctx.router.onShard('vendor_restock', shard, async (conn) => {
      const [vendor] = await conn.rows<Record<string, unknown>>(
        'SELECT restocks_inventory, max_inventory_size, last_restock + INTERVAL restock_interval SECOND <= NOW() AS due FROM vendors WHERE vendor_id = ? FOR UPDATE',
        [vid],
      );
      if (!vendor) throw new NotFoundError('vendor', vid);
      if (!vendor.restocks_inventory) return { restocked: false, added: 0 };
      if (!force && !Number(vendor.due)) return { restocked: false, added: 0 };
      const lines = await conn.rows<Record<string, number>>(
        'SELECT * FROM vendor_inventory WHERE vendor_id = ? ORDER BY template_id FOR UPDATE',
        [vid],
      );
      let room = Number(vendor.max_inventory_size) - lines.reduce((sum, l) => sum + Number(l.current_stock), 0);
      let added = 0;
      for (const line of lines) {
        if (room <= 0) break;
        if (Math.random() >= Number(line.restock_probability)) continue;
        const add = Math.min(Number(line.restock_amount), Number(line.max_stock) - Number(line.current_stock), room);
        if (add <= 0) continue;
        await conn.exec('UPDATE vendor_inventory SET current_stock = current_stock + ? WHERE vendor_id = ? AND template_id = ?', [
          add,
          vid,
          line.template_id,
        ]);
        room -= add;
        added += add;
      }
      await conn.exec('UPDATE vendors SET last_restock = NOW() WHERE vendor_id = ?', [vid]);
      return { restocked: true, added };
    });
  }

  /**
   * A vendor with its stock.
   * @example
   * const { stock } = await db.vendors.get(vendorId);
   */
  async get(vendorId: number, options: { consistency?: Consistency } = {}): Promise<Vendor> {
    const vid = parseInput(id, vendorId, 'vendor id');
    const shard = await shardOfWorldRow(this.ctx.router, 'vendors', vid);
    const [vendor] = await this.ctx.router.readShard('vendor_get', shard, consistencyOf(options, 'session'), (conn) =>
      readVendors(conn, 'v.vendor_id = ?', [vid]),
    );
    if (!vendor) throw new NotFoundError('vendor', vid);
    return vendor;
  }
}

export type { Vendor };
