import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsufficientFundsError, ItemNotAllowedError, NotFoundError, TradeAbortedError, ValidationError } from '../src/index.js';
import { repairCost } from '../src/systems/shared/equipment-slots.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let me: number;
let other: number;
let glasses: number; // clothing/glasses, bind on equip
let hat: number;
let gun: number;
let stim: number; // consumable, stack 10
let relic: number; // not droppable

const rows = async (sql: string, params: unknown[] = []) => (await (await t.sql('alpha-primary')).query<RowDataPacket[]>(sql, params))[0];
const money = async () => Number((await rows('SELECT money FROM characters WHERE character_id = ?', [me]))[0]!.money);

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const { accountId } = await t.db.accounts.register({ username: 'niobe', email: 'niobe@zion.example', password: 'logos-captain' });
  me = (await t.db.characters.create({ accountId, name: 'Niobe', archetype: 'spy', gender: 'female', districtId: 1 })).characterId;
  other = (await t.db.characters.create({ accountId, name: 'Ghost', archetype: 'spy', gender: 'male', districtId: 4 })).characterId;
  await t.db.characters.adjustMoney(me, 500, 'admin_grant');
  glasses = await t.db.items.defineTemplate({
    itemName: 'Shades',
    itemType: 'clothing',
    itemSubtype: 'glasses',
    bindOnEquip: true,
    baseValue: 200,
  });
  hat = await t.db.items.defineTemplate({ itemName: 'Fedora', itemType: 'clothing', itemSubtype: 'hat', baseValue: 40 });
  gun = await t.db.items.defineTemplate({ itemName: 'Pistol', itemType: 'weapon', baseValue: 400 });
  stim = await t.db.items.defineTemplate({ itemName: 'Stim', itemType: 'consumable', stackSize: 10 });
  relic = await t.db.items.defineTemplate({ itemName: 'Key', itemType: 'key_item', isDroppable: false });
});
afterAll(async () => t?.stop());

describe('equipment', () => {
  it('equips by slot rules, binds on equip, the summary view agrees; replacing returns the old item', async () => {
    const a = await t.db.inventory.grant(me, { templateId: glasses });
    const b = await t.db.inventory.grant(me, { templateId: glasses });
    await expect(t.db.inventory.equip(me, a.itemId, 'clothing_head')).rejects.toBeInstanceOf(ItemNotAllowedError);
    await expect(t.db.inventory.equip(me, a.itemId, 'weapon_primary')).rejects.toBeInstanceOf(ItemNotAllowedError);
    await expect(t.db.inventory.equip(me, a.itemId, 'pocket' as never)).rejects.toBeInstanceOf(ValidationError);
    expect(await t.db.inventory.equip(me, a.itemId, 'clothing_face')).toEqual({ replacedItemId: null, bound: true });
    const [view] = await rows(
      "SELECT item_name, durability FROM character_equipment_summary WHERE character_id = ? AND slot_name = 'clothing_face'",
      [me],
    );
    expect(view).toMatchObject({ item_name: 'Shades' });
    expect((await rows('SELECT container_type, is_bound FROM character_inventory WHERE item_id = ?', [a.itemId]))[0]).toMatchObject({
      container_type: 'equipped',
      is_bound: 1,
    });
    expect(await t.db.inventory.equip(me, b.itemId, 'clothing_face')).toMatchObject({ replacedItemId: a.itemId });
    expect((await rows('SELECT container_type FROM character_inventory WHERE item_id = ?', [a.itemId]))[0]!.container_type).toBe(
      'inventory',
    );
    expect((await rows('SELECT COUNT(*) AS n FROM character_equipment WHERE character_id = ?', [me]))[0]!.n).toBe(1);
  });

  it('an item is in one slot at most; unequip empties the slot', async () => {
    const g = await t.db.inventory.grant(me, { templateId: gun });
    await t.db.inventory.equip(me, g.itemId, 'weapon_primary');
    await t.db.inventory.equip(me, g.itemId, 'weapon_secondary');
    const slots = await rows('SELECT slot_name FROM character_equipment WHERE item_id = ?', [g.itemId]);
    expect(slots.map((s) => s.slot_name)).toEqual(['weapon_secondary']);
    expect(await t.db.inventory.unequip(me, 'weapon_secondary')).toEqual({ itemId: g.itemId, slotPosition: expect.any(Number) });
    expect((await rows('SELECT container_type FROM character_inventory WHERE item_id = ?', [g.itemId]))[0]!.container_type).toBe(
      'inventory',
    );
    await expect(t.db.inventory.unequip(me, 'weapon_secondary')).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.inventory.equip(other, g.itemId, 'weapon_primary')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('trades refuse bound and equipped items', async () => {
    const h = await t.db.inventory.grant(me, { templateId: hat });
    await t.db.inventory.equip(me, h.itemId, 'clothing_head');
    await expect(
      t.db.trades.execute({ initiator: { characterId: me, itemIds: [h.itemId] }, recipient: { characterId: other } }),
    ).rejects.toBeInstanceOf(TradeAbortedError);
    await t.db.inventory.unequip(me, 'clothing_head');
    const bound = (
      await rows("SELECT item_id FROM character_inventory WHERE character_id = ? AND is_bound AND container_type = 'inventory' LIMIT 1", [
        me,
      ])
    )[0]!;
    await expect(
      t.db.trades.execute({ initiator: { characterId: me, itemIds: [Number(bound.item_id)] }, recipient: { characterId: other } }),
    ).rejects.toBeInstanceOf(TradeAbortedError);
    await t.db.trades.execute({ initiator: { characterId: me, itemIds: [h.itemId] }, recipient: { characterId: other } });
  });
});

describe('item care', () => {
  it('move: containers and slots, never two items in one slot, never an equipped item', async () => {
    const x = await t.db.inventory.grant(me, { templateId: hat });
    const y = await t.db.inventory.grant(me, { templateId: hat });
    await t.db.inventory.move(me, x.itemId, { containerType: 'bank', slotPosition: 3 });
    await expect(t.db.inventory.move(me, y.itemId, { containerType: 'bank', slotPosition: 3 })).rejects.toBeInstanceOf(ItemNotAllowedError);
    await t.db.inventory.move(me, y.itemId, { containerType: 'bank', slotPosition: 4 });
    expect((await rows('SELECT container_type, slot_position FROM character_inventory WHERE item_id = ?', [x.itemId]))[0]).toMatchObject({
      container_type: 'bank',
      slot_position: 3,
    });
    await expect(t.db.inventory.equip(me, x.itemId, 'clothing_head')).rejects.toBeInstanceOf(ItemNotAllowedError); // in the bank
    await t.db.inventory.move(me, x.itemId, { containerType: 'inventory' });
    await t.db.inventory.equip(me, x.itemId, 'clothing_head');
    await expect(t.db.inventory.move(me, x.itemId, { containerType: 'bank', slotPosition: 9 })).rejects.toBeInstanceOf(ItemNotAllowedError);
    await expect(t.db.inventory.move(me, x.itemId, { containerType: 'equipped' } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('consume honours the stack; destroy removes the stack; undroppable items stay', async () => {
    const s = await t.db.inventory.grant(me, { templateId: stim, quantity: 5 });
    expect(await t.db.inventory.consume(me, s.itemId, 2)).toEqual({ remaining: 3 });
    await expect(t.db.inventory.consume(me, s.itemId, 4)).rejects.toBeInstanceOf(ItemNotAllowedError);
    expect(await t.db.inventory.consume(me, s.itemId, 3)).toEqual({ remaining: 0 });
    expect((await rows('SELECT COUNT(*) AS n FROM character_inventory WHERE item_id = ?', [s.itemId]))[0]!.n).toBe(0);
    const h = await t.db.inventory.grant(me, { templateId: hat });
    await expect(t.db.inventory.consume(me, h.itemId, 1)).rejects.toBeInstanceOf(ItemNotAllowedError);
    expect(await t.db.inventory.destroy(me, h.itemId)).toEqual({ quantity: 1 });
    const k = await t.db.inventory.grant(me, { templateId: relic });
    await expect(t.db.inventory.destroy(me, k.itemId)).rejects.toBeInstanceOf(ItemNotAllowedError);
    expect((await rows('SELECT COUNT(*) AS n FROM character_inventory WHERE item_id IN (?, ?)', [h.itemId, k.itemId]))[0]!.n).toBe(1);
  });

  it('modify writes item_modifications and charges the cost with a ledger row', async () => {
    const g = await t.db.inventory.grant(me, { templateId: gun });
    const before = await money();
    const r = await t.db.inventory.modify(me, g.itemId, { modificationType: 'enhancement', modificationData: { accuracy: 2 }, cost: 40 });
    expect(r.money).toBe(before - 40);
    expect(await money()).toBe(before - 40);
    expect((await rows('SELECT * FROM item_modifications WHERE modification_id = ?', [r.modificationId]))[0]).toMatchObject({
      item_id: g.itemId,
      cost_paid: 40,
      applied_by: me,
    });
    expect(
      (
        await rows(
          "SELECT COUNT(*) AS n FROM transaction_history WHERE from_character_id = ? AND transaction_type = 'repair_cost' AND money_amount = 40",
          [me],
        )
      )[0]!.n,
    ).toBe(1);
    await expect(
      t.db.inventory.modify(me, g.itemId, { modificationType: 'upgrade', modificationData: {}, cost: 1_000_000 }),
    ).rejects.toBeInstanceOf(InsufficientFundsError);
    await expect(
      t.db.inventory.modify(me, g.itemId, { modificationType: 'polish' as never, modificationData: {}, cost: 1 }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('repair restores durability and charges the repair cost', async () => {
    const g = await t.db.inventory.grant(me, { templateId: gun });
    await (await t.sql('alpha-primary')).query('UPDATE character_inventory SET durability = 60 WHERE item_id = ?', [g.itemId]);
    const before = await money();
    const r = await t.db.inventory.repair(me, g.itemId);
    expect(r).toEqual({ cost: repairCost(400, 60), durability: 100, money: before - 40 });
    expect(repairCost(400, 60)).toBe(40);
    expect((await rows('SELECT durability FROM character_inventory WHERE item_id = ?', [g.itemId]))[0]!.durability).toBe(100);
    expect(
      (await rows("SELECT COUNT(*) AS n FROM item_modifications WHERE item_id = ? AND modification_type = 'repair'", [g.itemId]))[0]!.n,
    ).toBe(1);
    expect(
      (
        await rows(
          "SELECT money_amount FROM transaction_history WHERE from_character_id = ? AND transaction_reason = 'repair' ORDER BY transaction_id DESC LIMIT 1",
          [me],
        )
      )[0]!.money_amount,
    ).toBe(40);
    expect(await t.db.inventory.repair(me, g.itemId)).toMatchObject({ cost: 0 }); // nothing to repair, nothing charged
    expect(await money()).toBe(before - 40);
  });

  it('an idempotency key makes a retried repair or modification charge once', async () => {
    const g = await t.db.inventory.grant(me, { templateId: gun });
    await (await t.sql('alpha-primary')).query('UPDATE character_inventory SET durability = 20 WHERE item_id = ?', [g.itemId]);
    const before = await money();
    const first = await t.db.inventory.repair(me, g.itemId, { idempotencyKey: 'repair-1' });
    expect(await t.db.inventory.repair(me, g.itemId, { idempotencyKey: 'repair-1' })).toEqual(first);
    const mod = { modificationType: 'upgrade' as const, modificationData: { tier: 2 }, cost: 5 };
    const m1 = await t.db.inventory.modify(me, g.itemId, mod, { idempotencyKey: 'mod-1' });
    expect(await t.db.inventory.modify(me, g.itemId, mod, { idempotencyKey: 'mod-1' })).toEqual(m1);
    expect(await money()).toBe(before - first.cost - 5);
    expect((await rows('SELECT COUNT(*) AS n FROM item_modifications WHERE item_id = ?', [g.itemId]))[0]!.n).toBe(2);
    const mods = await t.db.inventory.modifications(me, g.itemId);
    expect(mods.map((m) => [m.modificationType, m.costPaid])).toEqual([
      ['repair', first.cost],
      ['upgrade', 5],
    ]);
    expect(mods[1]!.modificationData).toEqual({ tier: 2 });
    await expect(t.db.inventory.modifications(other, g.itemId)).rejects.toBeInstanceOf(NotFoundError);
  });
});
