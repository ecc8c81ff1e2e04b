import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InsufficientFundsError,
  ItemNotAllowedError,
  NotFoundError,
  OutOfStockError,
  RequirementNotMetError,
  ValidationError,
  WrongDistrictError,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let buyer: number; // alpha, district 1
let far: number; // beta, district 4
let shades: number; // template
let potion: number; // stack of 5
let relic: number; // unsellable
let vendorId: number; // district 1

const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const { accountId } = await t.db.accounts.register({ username: 'mouse', email: 'mouse@zion.example', password: 'woman-in-red' });
  buyer = (await t.db.characters.create({ accountId, name: 'Mouse', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
  far = (await t.db.characters.create({ accountId, name: 'Switch', archetype: 'spy', gender: 'female', districtId: 4 })).characterId;
  await t.db.characters.adjustMoney(buyer, 1000, 'admin_grant');
  await t.db.characters.adjustMoney(far, 1000, 'admin_grant');
  shades = await t.db.items.defineTemplate({ itemName: 'Shades', itemType: 'clothing', baseValue: 100 });
  potion = await t.db.items.defineTemplate({ itemName: 'Stim', itemType: 'consumable', baseValue: 10, stackSize: 5 });
  relic = await t.db.items.defineTemplate({ itemName: 'Relic', itemType: 'key_item', baseValue: 50, isSellable: false });
  ({ vendorId } = await t.db.vendors.define({
    vendorName: 'Tailor',
    districtId: 1,
    position: { x: 1, y: 0, z: 1 },
    vendorType: 'general',
    sellMarkup: 1.5,
    buyRate: 0.5,
    stock: [
      { templateId: shades, maxStock: 3, basePrice: 100 },
      { templateId: potion, maxStock: 20, basePrice: 10, currentStock: 12, restockAmount: 5 },
    ],
  }));
});
afterAll(async () => t?.stop());

describe('vendors', () => {
  it('defines a vendor on its district shard with stock priced by its markup', async () => {
    const v = await t.db.vendors.get(vendorId);
    expect(v.stock).toEqual([
      expect.objectContaining({ templateId: shades, currentStock: 3, currentPrice: 150 }),
      expect.objectContaining({ templateId: potion, currentStock: 12, currentPrice: 15 }),
    ]);
    expect((await rows('beta-primary', 'SELECT COUNT(*) AS n FROM vendors WHERE vendor_id = ?', [vendorId]))[0]!.n).toBe(0);
  });

  it('refuses a buy rate above the sell markup at define (buy, sell back, repeat: a money loop) (issue 23)', async () => {
    const loop = t.db.vendors.define({
      vendorName: 'Fence',
      districtId: 1,
      position: { x: 2, y: 0, z: 2 },
      vendorType: 'general',
      sellMarkup: 1.2,
      buyRate: 1.5,
      stock: [{ templateId: shades, maxStock: 3, basePrice: 100 }],
    });
    await expect(loop).rejects.toBeInstanceOf(ValidationError);
    await expect(loop).rejects.toMatchObject({ fields: ['buyRate'] });
    expect((await rows('alpha-primary', "SELECT COUNT(*) AS n FROM vendors WHERE vendor_name = 'Fence'"))[0]!.n).toBe(0);
  });

  it('buy: stock, money, the new item, the ledger with the vendor id and the economy counters, at once', async () => {
    const r = await t.db.vendors.buy({ characterId: buyer, vendorId, templateId: shades, quantity: 1 });
    expect(r).toMatchObject({ price: 150, money: 850, replayed: false });
    expect(
      (
        await rows('alpha-primary', 'SELECT current_stock, total_sold FROM vendor_inventory WHERE vendor_id = ? AND template_id = ?', [
          vendorId,
          shades,
        ])
      )[0],
    ).toMatchObject({ current_stock: 2, total_sold: 1 });
    expect((await rows('alpha-primary', 'SELECT money FROM characters WHERE character_id = ?', [buyer]))[0]!.money).toBe(850);
    expect(
      (await rows('alpha-primary', 'SELECT acquired_method, template_id FROM character_inventory WHERE item_id = ?', [r.itemIds[0]]))[0],
    ).toMatchObject({ acquired_method: 'purchase', template_id: shades });
    const [ledger] = await rows(
      'alpha-primary',
      "SELECT * FROM transaction_history WHERE vendor_id = ? AND transaction_type = 'vendor_purchase'",
      [vendorId],
    );
    expect(ledger).toMatchObject({ from_character_id: buyer, money_amount: 150 });
    const [eco] = await rows(
      'alpha-primary',
      'SELECT vendor_sales_today, items_created_today FROM server_economy WHERE tracking_date = CURDATE()',
    );
    expect(eco).toMatchObject({ vendor_sales_today: 150, items_created_today: 1 });
  });

  it('splits a purchase by stack size', async () => {
    const r = await t.db.vendors.buy({ characterId: buyer, vendorId, templateId: potion, quantity: 7 });
    expect(r.itemIds).toHaveLength(2);
    const items = await rows(
      'alpha-primary',
      `SELECT quantity FROM character_inventory WHERE item_id IN (?, ?) ORDER BY quantity`,
      r.itemIds,
    );
    expect(items.map((i) => i.quantity)).toEqual([2, 5]);
  });

  it('refuses no stock, no money, wrong district, level/faction and changes nothing', async () => {
    const money = async () => (await rows('alpha-primary', 'SELECT money FROM characters WHERE character_id = ?', [buyer]))[0]!.money;
    const before = await money();
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId, templateId: shades, quantity: 3 })).rejects.toBeInstanceOf(
      OutOfStockError,
    );
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId, templateId: relic })).rejects.toBeInstanceOf(OutOfStockError);
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId, templateId: potion, quantity: 5000 })).rejects.toBeInstanceOf(
      OutOfStockError,
    );
    await expect(t.db.vendors.buy({ characterId: far, vendorId, templateId: shades })).rejects.toBeInstanceOf(WrongDistrictError);
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId: 987_654, templateId: shades })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId, templateId: shades, quantity: 0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const { vendorId: elite } = await t.db.vendors.define({
      vendorName: 'Elite',
      districtId: 2,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'faction',
      levelRequirement: 50,
      stock: [{ templateId: shades, maxStock: 1, basePrice: 1 }],
    });
    const { vendorId: zion } = await t.db.vendors.define({
      vendorName: 'Zion QM',
      districtId: 2,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'faction',
      factionRequirement: 'zion',
      stock: [{ templateId: shades, maxStock: 1, basePrice: 1 }],
    });
    const { vendorId: pricey } = await t.db.vendors.define({
      vendorName: 'Pricey',
      districtId: 2,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'special',
      stock: [{ templateId: shades, maxStock: 5, basePrice: 100_000 }],
    });
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId: elite, templateId: shades })).rejects.toBeInstanceOf(WrongDistrictError);
    await t.db.characters.moveToDistrict(buyer, 2);
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId: elite, templateId: shades })).rejects.toBeInstanceOf(
      RequirementNotMetError,
    );
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId: zion, templateId: shades })).rejects.toBeInstanceOf(
      RequirementNotMetError,
    );
    await expect(t.db.vendors.buy({ characterId: buyer, vendorId: pricey, templateId: shades })).rejects.toBeInstanceOf(
      InsufficientFundsError,
    );
    await t.db.characters.moveToDistrict(buyer, 1);
    expect(await money()).toBe(before);
    expect(
      (
        await rows('alpha-primary', 'SELECT current_stock FROM vendor_inventory WHERE vendor_id = ? AND template_id = ?', [pricey, shades])
      )[0]!.current_stock,
    ).toBe(5);
  });

  it('sell: item removed, buy-rate money, ledger, stock back; unsellable and equipped refused', async () => {
    const { itemIds } = await t.db.vendors.buy({ characterId: buyer, vendorId, templateId: shades });
    const before = (await rows('alpha-primary', 'SELECT money FROM characters WHERE character_id = ?', [buyer]))[0]!.money;
    const stock = (await t.db.vendors.get(vendorId)).stock.find((s) => s.templateId === shades)!.currentStock;
    const r = await t.db.vendors.sell({ characterId: buyer, vendorId, itemId: itemIds[0]! });
    expect(r).toMatchObject({ price: 50, money: before + 50 });
    expect((await rows('alpha-primary', 'SELECT COUNT(*) AS n FROM character_inventory WHERE item_id = ?', [itemIds[0]]))[0]!.n).toBe(0);
    expect((await t.db.vendors.get(vendorId)).stock.find((s) => s.templateId === shades)!.currentStock).toBe(stock + 1);
    const [ledger] = await rows(
      'alpha-primary',
      "SELECT * FROM transaction_history WHERE vendor_id = ? AND transaction_type = 'vendor_sale'",
      [vendorId],
    );
    expect(ledger).toMatchObject({ to_character_id: buyer, money_amount: 50 });
    const junk = await t.db.inventory.grant(buyer, { templateId: relic });
    await expect(t.db.vendors.sell({ characterId: buyer, vendorId, itemId: junk.itemId })).rejects.toBeInstanceOf(ItemNotAllowedError);
    const worn = await t.db.inventory.grant(buyer, { templateId: shades });
    await (
      await t.sql('alpha-primary')
    ).query("UPDATE character_inventory SET container_type = 'equipped' WHERE item_id = ?", [worn.itemId]);
    await expect(t.db.vendors.sell({ characterId: buyer, vendorId, itemId: worn.itemId })).rejects.toBeInstanceOf(ItemNotAllowedError);
    await expect(t.db.vendors.sell({ characterId: buyer, vendorId, itemId: 99_999_999 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('an idempotency key makes a retried purchase a replay', async () => {
    const first = await t.db.vendors.buy({ characterId: buyer, vendorId, templateId: potion, quantity: 1, idempotencyKey: 'buy-1' });
    const again = await t.db.vendors.buy({ characterId: buyer, vendorId, templateId: potion, quantity: 1, idempotencyKey: 'buy-1' });
    expect(again).toMatchObject({ replayed: true, itemIds: first.itemIds, price: first.price });
    expect(again.money).toBe(first.money);
    // The key is the buyer's, for this operation (src/routing/idempotency.ts): stored once.
    const keys = await rows(
      'alpha-primary',
      "SELECT COUNT(*) AS n FROM idempotency_keys WHERE character_id = ? AND operation = 'vendor_buy'",
      [buyer],
    );
    expect(keys[0]!.n).toBe(1);
  });

  it('restock follows the rules: not before the interval, capped at max stock', async () => {
    expect(await t.db.vendors.restock(vendorId)).toEqual({ restocked: false, added: 0 });
    const before = (await t.db.vendors.get(vendorId)).stock;
    const r = await t.db.vendors.restock(vendorId, { force: true });
    const after = (await t.db.vendors.get(vendorId)).stock;
    for (const line of after) {
      const old = before.find((b) => b.templateId === line.templateId)!;
      expect(line.currentStock).toBe(Math.min(line.maxStock, old.currentStock + 5));
    }
    expect(r.added).toBe(after.reduce((s, l) => s + l.currentStock, 0) - before.reduce((s, l) => s + l.currentStock, 0));
    await (await t.sql('alpha-primary')).query('UPDATE vendors SET last_restock = NOW() - INTERVAL 2 HOUR WHERE vendor_id = ?', [vendorId]);
    expect((await t.db.vendors.restock(vendorId)).restocked).toBe(true);
  });
});
