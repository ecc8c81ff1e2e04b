import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemNotAllowedError, NotFoundError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;
let hat: number; // clothing/hat, RSI model 12 colour 3
let cap: number; // clothing/hat, RSI model 20 colour 7
let shades: number; // clothing/glasses, RSI model 5 colour 1
let stim: number;

const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];
const slotOf = async (itemId: number, node = 'alpha-primary') =>
  (await rows(node, 'SELECT container_type, slot_position FROM character_inventory WHERE item_id = ?', [itemId]))[0];
const appearance = async (cid: number) => (await t.db.characters.identity(cid)).appearance;
let n = 0;
const newCharacter = async (districtId = 1) =>
  (await t.db.characters.create({ accountId, name: `Slotter${++n}`, archetype: 'spy', gender: 'female', districtId })).characterId;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  ({ accountId } = await t.db.accounts.register({ username: 'switch', email: 'switch@zion.example', password: 'not-like-this' }));
  hat = await t.db.items.defineTemplate({ itemName: 'Fedora', itemType: 'clothing', itemSubtype: 'hat', rsiModel: 12, rsiColor: 3 });
  cap = await t.db.items.defineTemplate({ itemName: 'Cap', itemType: 'clothing', itemSubtype: 'hat', rsiModel: 20, rsiColor: 7 });
  shades = await t.db.items.defineTemplate({ itemName: 'Shades', itemType: 'clothing', itemSubtype: 'glasses', rsiModel: 5, rsiColor: 1 });
  stim = await t.db.items.defineTemplate({ itemName: 'Stim', itemType: 'consumable', stackSize: 10, baseValue: 10 });
}, 120_000);
afterAll(async () => t?.stop());

describe('inventory slots', () => {
  it('grant takes the first free backpack slot, refills a freed one, stores purity; a bank grant has no slot', async () => {
    const me = await newCharacter();
    const a = await t.db.inventory.grant(me, { templateId: stim, purity: 200 });
    const b = await t.db.inventory.grant(me, { templateId: stim });
    const c = await t.db.inventory.grant(me, { templateId: stim });
    expect([a.slotPosition, b.slotPosition, c.slotPosition]).toEqual([0, 1, 2]);
    await t.db.inventory.destroy(me, b.itemId);
    expect((await t.db.inventory.grant(me, { templateId: stim })).slotPosition).toBe(1);
    expect(await slotOf(a.itemId)).toMatchObject({ container_type: 'inventory', slot_position: 0 });
    expect((await t.db.inventory.getBySlot(me, 0))!).toMatchObject({ itemId: a.itemId, purity: 200 });
    expect((await rows('alpha-primary', 'SELECT purity FROM character_inventory WHERE item_id = ?', [a.itemId]))[0]!.purity).toBe(200);
    expect(await t.db.inventory.getBySlot(me, 5)).toBeNull();
    expect((await t.db.inventory.grant(me, { templateId: stim, containerType: 'bank' })).slotPosition).toBeNull();
    await expect(t.db.inventory.grant(me, { templateId: stim, purity: 256 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.inventory.getBySlot(me, 0x69)).rejects.toBeInstanceOf(ValidationError);
  });

  it("grant refuses a quantity above the template's stack size, nothing written (issue 23)", async () => {
    const me = await newCharacter();
    expect((await t.db.inventory.grant(me, { templateId: stim, quantity: 10 })).quantity).toBe(10);
    const over = t.db.inventory.grant(me, { templateId: stim, quantity: 11 });
    await expect(over).rejects.toBeInstanceOf(ValidationError);
    await expect(over).rejects.toMatchObject({ fields: ['quantity'] });
    await expect(t.db.inventory.grant(me, { templateId: hat, quantity: 2 })).rejects.toMatchObject({ fields: ['quantity'] });
    expect((await rows('alpha-primary', 'SELECT COUNT(*) AS n FROM character_inventory WHERE character_id = ?', [me]))[0]!.n).toBe(1);
  });

  it('one item per (character, container, slot): an explicit taken slot is refused; the key holds in SQL too', async () => {
    const me = await newCharacter();
    const a = await t.db.inventory.grant(me, { templateId: stim, slotPosition: 7 });
    await expect(t.db.inventory.grant(me, { templateId: stim, slotPosition: 7 })).rejects.toBeInstanceOf(ItemNotAllowedError);
    await expect(
      (await t.sql('alpha-primary')).query(
        "INSERT INTO character_inventory (item_id, character_id, template_id, container_type, slot_position) VALUES (?, ?, ?, 'inventory', 7)",
        [a.itemId + 1_000_000, me, stim],
      ),
    ).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    expect((await t.db.inventory.list(me)).length).toBe(1);
  });

  it('concurrent grants to one character get distinct slots; a full backpack overflows without a slot', async () => {
    const me = await newCharacter();
    const items = await Promise.all(Array.from({ length: 12 }, () => t.db.inventory.grant(me, { templateId: stim })));
    expect(items.map((i) => i.slotPosition).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    for (let s = 12; s <= 0x60; s++) await t.db.inventory.grant(me, { templateId: stim });
    expect((await t.db.inventory.grant(me, { templateId: stim })).slotPosition).toBeNull();
  }, 60_000);

  it('moveSlot moves into an empty slot and swaps with an occupied one', async () => {
    const me = await newCharacter();
    const a = await t.db.inventory.grant(me, { templateId: stim }); // 0
    const b = await t.db.inventory.grant(me, { templateId: hat }); // 1
    expect(await t.db.inventory.moveSlot(me, 0, 9)).toEqual([{ itemId: a.itemId, slot: 9 }]);
    expect(await t.db.inventory.moveSlot(me, 1, 9)).toEqual([
      { itemId: b.itemId, slot: 9 },
      { itemId: a.itemId, slot: 1 },
    ]);
    expect((await t.db.inventory.getBySlot(me, 9))!.itemId).toBe(b.itemId);
    expect((await t.db.inventory.getBySlot(me, 1))!.itemId).toBe(a.itemId);
    await expect(t.db.inventory.moveSlot(me, 30, 31)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('into a worn slot is an equip: slot 0x61 and the appearance change together; a misfit changes nothing', async () => {
    const me = await newCharacter();
    const fedora = await t.db.inventory.grant(me, { templateId: hat }); // 0
    const glasses = await t.db.inventory.grant(me, { templateId: shades }); // 1
    const other = await t.db.inventory.grant(me, { templateId: cap }); // 2
    await expect(t.db.inventory.moveSlot(me, 0, 0x62)).rejects.toBeInstanceOf(ItemNotAllowedError);
    expect(await slotOf(fedora.itemId)).toMatchObject({ container_type: 'inventory', slot_position: 0 });
    await t.db.inventory.moveSlot(me, 0, 0x61);
    expect(await slotOf(fedora.itemId)).toMatchObject({ container_type: 'equipped', slot_position: 0x61 });
    expect((await t.db.inventory.getBySlot(me, 0x61))!.itemId).toBe(fedora.itemId);
    expect(await appearance(me)).toMatchObject({ hatModel: 12, hatColor: 3 });
    const [equipped] = await rows(
      'alpha-primary',
      "SELECT item_id FROM character_equipment WHERE character_id = ? AND slot_name = 'clothing_head'",
      [me],
    );
    expect(Number(equipped!.item_id)).toBe(fedora.itemId);
    // Worn hat onto the cap's backpack slot: the cap is worn, the fedora takes slot 2.
    expect(await t.db.inventory.moveSlot(me, 0x61, 2)).toEqual([
      { itemId: other.itemId, slot: 0x61 },
      { itemId: fedora.itemId, slot: 2 },
    ]);
    expect(await appearance(me)).toMatchObject({ hatModel: 20, hatColor: 7 });
    // Out to an empty slot: unequip, the part is drawn as nothing.
    await t.db.inventory.moveSlot(me, 0x61, 40);
    expect(await slotOf(other.itemId)).toMatchObject({ container_type: 'inventory', slot_position: 40 });
    expect(await appearance(me)).toMatchObject({ hatModel: 0, hatColor: 0 });
    expect(await t.db.inventory.getBySlot(me, 0x61)).toBeNull();
    // Shades into the glasses slot from 1.
    await t.db.inventory.moveSlot(me, 1, 0x62);
    expect(await appearance(me)).toMatchObject({ glassesModel: 5, glassesColor: 1 });
    expect(glasses.slotPosition).toBe(1);
  });

  it('equip/unequip keep the worn slot and the appearance in step; the replaced item takes the freed slot', async () => {
    const me = await newCharacter();
    const fedora = await t.db.inventory.grant(me, { templateId: hat }); // 0
    const other = await t.db.inventory.grant(me, { templateId: cap }); // 1
    await t.db.inventory.equip(me, fedora.itemId, 'clothing_head');
    expect(await slotOf(fedora.itemId)).toMatchObject({ container_type: 'equipped', slot_position: 0x61 });
    expect(await appearance(me)).toMatchObject({ hatModel: 12, hatColor: 3 });
    expect(await t.db.inventory.equip(me, other.itemId, 'clothing_head')).toMatchObject({ replacedItemId: fedora.itemId });
    expect(await slotOf(fedora.itemId)).toMatchObject({ container_type: 'inventory', slot_position: 1 });
    expect(await slotOf(other.itemId)).toMatchObject({ container_type: 'equipped', slot_position: 0x61 });
    expect(await appearance(me)).toMatchObject({ hatModel: 20, hatColor: 7 });
    expect(await t.db.inventory.unequip(me, 'clothing_head')).toEqual({ itemId: other.itemId, slotPosition: 0 });
    expect(await appearance(me)).toMatchObject({ hatModel: 0, hatColor: 0 });
    // Destroying a worn item clears its part too.
    await t.db.inventory.equip(me, fedora.itemId, 'clothing_head');
    await t.db.inventory.destroy(me, fedora.itemId);
    expect(await appearance(me)).toMatchObject({ hatModel: 0 });
  });

  it('vendors.buy fills free slots; vendors.sellSlot sells what a slot holds; worn or empty slots are refused', async () => {
    const me = await newCharacter();
    await t.db.characters.adjustMoney(me, 1000, 'admin_grant');
    const { vendorId } = await t.db.vendors.define({
      vendorName: 'Slot Shop',
      districtId: 1,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'general',
      stock: [
        { templateId: stim, maxStock: 100, basePrice: 10 },
        { templateId: hat, maxStock: 5, basePrice: 10 },
      ],
    });
    await t.db.inventory.grant(me, { templateId: stim }); // 0
    const { itemIds } = await t.db.vendors.buy({ characterId: me, vendorId, templateId: stim, quantity: 25 }); // three stacks
    expect(await Promise.all(itemIds.map(async (i) => (await slotOf(i))!.slot_position))).toEqual([1, 2, 3]);
    const sold = await t.db.vendors.sellSlot({ characterId: me, vendorId, slot: 2 });
    expect(sold.price).toBeGreaterThan(0);
    expect(await t.db.inventory.getBySlot(me, 2)).toBeNull();
    expect(await slotOf(itemIds[1]!)).toBeUndefined();
    await expect(t.db.vendors.sellSlot({ characterId: me, vendorId, slot: 2 })).rejects.toBeInstanceOf(NotFoundError);
    const {
      itemIds: [h],
    } = await t.db.vendors.buy({ characterId: me, vendorId, templateId: hat });
    expect((await slotOf(h!))!.slot_position).toBe(2);
    await t.db.inventory.moveSlot(me, 2, 0x61);
    await expect(t.db.vendors.sellSlot({ characterId: me, vendorId, slot: 0x61 })).rejects.toBeInstanceOf(ItemNotAllowedError);
  });

  it('trades put items in the taker free slots, on the same shard and across shards', async () => {
    const giver = await newCharacter(1);
    const near = await newCharacter(2); // alpha too
    const far = await newCharacter(4); // beta
    await t.db.inventory.grant(near, { templateId: stim }); // near: slot 0 taken
    await t.db.inventory.grant(far, { templateId: stim }); // far: slot 0 taken
    await t.db.inventory.grant(far, { templateId: stim }); // far: slot 1 taken
    const x = await t.db.inventory.grant(giver, { templateId: stim });
    const y = await t.db.inventory.grant(giver, { templateId: stim });
    await t.db.trades.execute({ initiator: { characterId: giver, itemIds: [x.itemId] }, recipient: { characterId: near } });
    expect(await slotOf(x.itemId)).toMatchObject({ container_type: 'inventory', slot_position: 1 });
    await t.db.trades.execute({ initiator: { characterId: giver, itemIds: [y.itemId] }, recipient: { characterId: far } });
    expect(await slotOf(y.itemId, 'beta-primary')).toMatchObject({ container_type: 'inventory', slot_position: 2 });
  });

  it('mission rewards take the first free slots too', async () => {
    const me = await newCharacter();
    await t.db.inventory.grant(me, { templateId: stim }); // 0
    const missionId = await t.db.missions.defineTemplate({
      missionName: 'Slot Run',
      missionType: 'story',
      objectives: [{ description: 'Run', required: 1 }],
      itemRewards: [
        { templateId: stim, quantity: 1 },
        { templateId: hat, quantity: 1 },
      ],
    });
    await t.db.missions.accept(me, missionId);
    await t.db.missions.progress(me, missionId, 0);
    await t.db.missions.complete(me, missionId);
    expect((await t.db.inventory.getBySlot(me, 1))!.templateId).toBe(stim);
    expect((await t.db.inventory.getBySlot(me, 2))!.templateId).toBe(hat);
  });
});
