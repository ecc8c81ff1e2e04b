import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InsufficientFundsError,
  InvalidStateError,
  NotFoundError,
  OfferChangedError,
  TradeAbortedError,
  ValidationError,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let a: number; // alpha
let b: number; // alpha
let c: number; // beta
let tpl: number;

const q = async (node: string, sql: string, params: unknown[] = []) => (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];
const money = async (cid: number) => (await t.db.characters.get(cid, { consistency: 'strong' })).money;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const { accountId } = await t.db.accounts.register({ username: 'link', email: 'link@zion.example', password: 'operator-1' });
  a = (await t.db.characters.create({ accountId, name: 'Link', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
  b = (await t.db.characters.create({ accountId, name: 'Zee', archetype: 'spy', gender: 'female', districtId: 2 })).characterId;
  c = (await t.db.characters.create({ accountId, name: 'Dozer', archetype: 'spy', gender: 'male', districtId: 4 })).characterId;
  for (const id of [a, b, c]) await t.db.characters.adjustMoney(id, 1000, 'admin_grant');
  tpl = await t.db.items.defineTemplate({ itemName: 'Datapad', itemType: 'misc' });
});
afterAll(async () => t?.stop());

describe('trade windows', () => {
  it('open, offer, confirm twice: the second confirmation executes; an offer change clears both confirmations', async () => {
    const pad = await t.db.inventory.grant(a, { templateId: tpl });
    const { tradeId } = await t.db.trades.open(a, b);
    expect((await q('alpha-primary', 'SELECT trade_status FROM trade_sessions WHERE trade_id = ?', [tradeId]))[0]!.trade_status).toBe(
      'initiated',
    );
    await t.db.trades.offer(tradeId, a, { itemIds: [pad.itemId] });
    await t.db.trades.offer(tradeId, b, { money: 200 });
    expect(await t.db.trades.confirm(tradeId, a)).toEqual({ tradeId, executed: false });
    const changed = await t.db.trades.offer(tradeId, b, { money: 150 });
    expect(changed).toMatchObject({ status: 'negotiating', initiatorConfirmed: false, recipientConfirmed: false, recipientMoney: 150 });
    expect(await t.db.trades.confirm(tradeId, b)).toEqual({ tradeId, executed: false });
    const done = await t.db.trades.confirm(tradeId, a);
    expect(done).toMatchObject({ tradeId, executed: true, crossShard: false });
    expect(await money(a)).toBe(1150);
    expect(await money(b)).toBe(850);
    expect(
      (await q('alpha-primary', 'SELECT character_id FROM character_inventory WHERE item_id = ?', [pad.itemId]))[0]!.character_id,
    ).toBe(b);
    const [row] = await q('alpha-primary', 'SELECT * FROM trade_sessions WHERE trade_id = ?', [tradeId]);
    expect(row).toMatchObject({ trade_status: 'completed', initiator_confirmed: 1, recipient_confirmed: 1, recipient_money: 150 });
    expect(row!.completed_date).not.toBeNull();
    expect((await q('alpha-primary', 'SELECT COUNT(*) AS n FROM transaction_history WHERE related_trade_id = ?', [tradeId]))[0]!.n).toBe(2);
    // Confirming again changes nothing.
    expect(await t.db.trades.confirm(tradeId, b)).toEqual({ tradeId, executed: true });
    expect(await money(a)).toBe(1150);
    await expect(t.db.trades.offer(tradeId, a, { money: 1 })).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('executes across shards in one two-phase commit; both shards record it', async () => {
    const { tradeId } = await t.db.trades.open(c, a);
    expect((await t.db.trades.window(tradeId)).shard).toBe('beta');
    await t.db.trades.offer(tradeId, c, { money: 300 });
    await t.db.trades.confirm(tradeId, a);
    const r = await t.db.trades.confirm(tradeId, c);
    expect(r).toMatchObject({ executed: true, crossShard: true });
    expect(r.transactionId).toBeTruthy();
    expect(await money(c)).toBe(700);
    expect(await money(a)).toBe(1450);
    expect((await q('beta-primary', 'SELECT trade_status, xa_gtrid FROM trade_sessions WHERE trade_id = ?', [tradeId]))[0]).toMatchObject({
      trade_status: 'completed',
      xa_gtrid: r.transactionId,
    });
    expect((await q('alpha-primary', 'SELECT trade_status FROM trade_sessions WHERE trade_id = ?', [tradeId]))[0]!.trade_status).toBe(
      'completed',
    );
  });

  it('a window left confirmed (its process died) executes exactly once when both sides confirm again at once', async () => {
    const { tradeId } = await t.db.trades.open(a, b);
    await t.db.trades.offer(tradeId, a, { money: 10 });
    const before = [await money(a), await money(b)];
    await (
      await t.sql('alpha-primary')
    ).query(
      "UPDATE trade_sessions SET trade_status = 'confirmed', initiator_confirmed = TRUE, recipient_confirmed = TRUE WHERE trade_id = ?",
      [tradeId],
    );
    const results = await Promise.allSettled([t.db.trades.confirm(tradeId, a), t.db.trades.confirm(tradeId, b)]);
    expect(results.some((r) => r.status === 'fulfilled' && r.value.executed)).toBe(true);
    expect([await money(a), await money(b)]).toEqual([before[0]! - 10, before[1]! + 10]);
    expect((await q('alpha-primary', 'SELECT COUNT(*) AS n FROM transaction_history WHERE related_trade_id = ?', [tradeId]))[0]!.n).toBe(1);
    expect((await t.db.trades.window(tradeId, { consistency: 'strong' })).status).toBe('completed');
  });

  it('a failed execution changes nothing and reopens the window', async () => {
    const { tradeId } = await t.db.trades.open(a, b);
    await t.db.trades.offer(tradeId, b, { money: 800 });
    await t.db.characters.adjustMoney(b, -(await money(b)) + 100, 'vendor_purchase');
    await t.db.trades.confirm(tradeId, a);
    await expect(t.db.trades.confirm(tradeId, b)).rejects.toBeInstanceOf(InsufficientFundsError);
    expect(await t.db.trades.window(tradeId, { consistency: 'strong' })).toMatchObject({
      status: 'negotiating',
      initiatorConfirmed: false,
      recipientConfirmed: false,
    });
    expect(await money(b)).toBe(100);
  });

  it('executes when both parties moved away from the shard that holds the window', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'sparks', email: 'sparks@zion.example', password: 'operator-3' });
    const x = (await t.db.characters.create({ accountId, name: 'Sparks', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
    const y = (await t.db.characters.create({ accountId, name: 'Ballard', archetype: 'spy', gender: 'male', districtId: 1 })).characterId;
    await t.db.characters.adjustMoney(x, 100, 'admin_grant');
    const { tradeId } = await t.db.trades.open(x, y);
    await t.db.trades.offer(tradeId, x, { money: 40 });
    await t.db.characters.moveToDistrict(x, 5);
    await t.db.characters.moveToDistrict(y, 6);
    await t.db.trades.confirm(tradeId, y);
    expect(await t.db.trades.confirm(tradeId, x)).toMatchObject({ executed: true, crossShard: true });
    expect([await money(x), await money(y)]).toEqual([60, 40]);
    expect((await q('alpha-primary', 'SELECT trade_status FROM trade_sessions WHERE trade_id = ?', [tradeId]))[0]!.trade_status).toBe(
      'completed',
    );
    expect((await q('beta-primary', 'SELECT COUNT(*) AS n FROM transaction_history WHERE related_trade_id = ?', [tradeId]))[0]!.n).toBe(1);
  });

  it('cancel, expiry, non-parties and bad offers are refused', async () => {
    const { tradeId } = await t.db.trades.open(a, b);
    await expect(t.db.trades.offer(tradeId, c, { money: 1 })).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.trades.offer(tradeId, a, { money: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.trades.offer(tradeId, a, { itemIds: [123456789] })).rejects.toBeInstanceOf(TradeAbortedError);
    await expect(t.db.trades.confirm(tradeId, a)).rejects.toBeInstanceOf(TradeAbortedError); // nothing offered
    expect((await t.db.trades.cancel(tradeId, b)).status).toBe('cancelled');
    await expect(t.db.trades.confirm(tradeId, a)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.trades.open(a, a)).rejects.toBeInstanceOf(TradeAbortedError);
    await expect(t.db.trades.open(a, 99_999_999)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.trades.confirm(88_888_888, a)).rejects.toBeInstanceOf(NotFoundError);

    const late = await t.db.trades.open(a, b);
    await (
      await t.sql('alpha-primary')
    ).query('UPDATE trade_sessions SET expires_date = NOW() - INTERVAL 1 MINUTE WHERE trade_id = ?', [late.tradeId]);
    await expect(t.db.trades.offer(late.tradeId, a, { money: 5 })).rejects.toMatchObject({ code: 'INVALID_STATE', state: 'expired' });
    expect((await t.db.trades.window(late.tradeId, { consistency: 'strong' })).status).toBe('cancelled');
    const swept = await t.db.trades.open(b, a);
    await (
      await t.sql('alpha-primary')
    ).query('UPDATE trade_sessions SET expires_date = NOW() - INTERVAL 1 MINUTE WHERE trade_id = ?', [swept.tradeId]);
    expect((await t.db.trades.expireWindows()).expired).toBe(1);
    expect((await t.db.trades.window(swept.tradeId, { consistency: 'strong' })).status).toBe('cancelled');
  });

  // Issue 23, M3: an offer snapshots what it offers; the trade compares at execution.
  it('bait-and-switch: offer 100 consumables, the other side confirms, consume 99, confirm: nothing moves, the error says why', async () => {
    const pills = await t.db.items.defineTemplate({ itemName: 'Blue Pill Crate', itemType: 'consumable', stackSize: 100 });
    const stack = await t.db.inventory.grant(a, { templateId: pills, quantity: 100 });
    const { tradeId } = await t.db.trades.open(a, b);
    const offered = await t.db.trades.offer(tradeId, a, { itemIds: [stack.itemId] });
    expect(offered.initiatorOffer).toMatchObject([{ itemId: stack.itemId, quantity: 100 }]);
    await t.db.trades.offer(tradeId, b, { money: 500 });
    await t.db.trades.confirm(tradeId, b);
    await t.db.inventory.consume(a, stack.itemId, 99);
    const [moneyA, moneyB] = [await money(a), await money(b)];
    const refused = await t.db.trades.confirm(tradeId, a).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OfferChangedError);
    expect(refused).toBeInstanceOf(TradeAbortedError);
    expect(refused).toMatchObject({ code: 'TRADE_ABORTED', itemId: stack.itemId, field: 'quantity', offered: 100, now: 1 });
    expect((refused as Error).message).toMatch(/quantity 100 -> 1/);
    expect([await money(a), await money(b)]).toEqual([moneyA, moneyB]);
    expect(
      (await q('alpha-primary', 'SELECT character_id, quantity FROM character_inventory WHERE item_id = ?', [stack.itemId]))[0],
    ).toMatchObject({
      character_id: a,
      quantity: 1,
    });
    // The window reopened: both confirmations cleared; a fresh offer of what is left can trade.
    expect(await t.db.trades.window(tradeId, { consistency: 'strong' })).toMatchObject({
      status: 'negotiating',
      initiatorConfirmed: false,
      recipientConfirmed: false,
    });
  });

  it('a repair, a modification or the stack used up after the offer refuses the trade (across shards too)', async () => {
    const blade = await t.db.items.defineTemplate({ itemName: 'Katana', itemType: 'weapon', baseValue: 100 });
    const worn = await t.db.inventory.grant(c, { templateId: blade });
    await (await t.sql('beta-primary')).query('UPDATE character_inventory SET durability = 40 WHERE item_id = ?', [worn.itemId]);
    const { tradeId } = await t.db.trades.open(c, a);
    await t.db.trades.offer(tradeId, c, { itemIds: [worn.itemId] });
    await t.db.trades.confirm(tradeId, a);
    await t.db.inventory.modify(c, worn.itemId, { modificationType: 'enhancement', modificationData: { accuracy: 1 }, cost: 0 });
    await expect(t.db.trades.confirm(tradeId, c)).rejects.toMatchObject({ field: 'modifications' });
    // Offered again (a new snapshot), then repaired: refused on durability.
    await t.db.trades.offer(tradeId, c, { itemIds: [worn.itemId] });
    await t.db.trades.confirm(tradeId, a);
    await t.db.inventory.repair(c, worn.itemId);
    await expect(t.db.trades.confirm(tradeId, c)).rejects.toMatchObject({ field: 'durability', offered: 40, now: 100 });
    expect(
      (await q('beta-primary', 'SELECT character_id FROM character_inventory WHERE item_id = ?', [worn.itemId]))[0]!.character_id,
    ).toBe(c);
    // Offered as it is now: the trade runs.
    await t.db.trades.offer(tradeId, c, { itemIds: [worn.itemId] });
    await t.db.trades.confirm(tradeId, a);
    expect(await t.db.trades.confirm(tradeId, c)).toMatchObject({ executed: true, crossShard: true });
    expect(
      (await q('alpha-primary', 'SELECT character_id FROM character_inventory WHERE item_id = ?', [worn.itemId]))[0]!.character_id,
    ).toBe(a);
  });

  // Issue 23: every path that adds money is bounded at 2^53 - 1 (a CHECK on characters.money,
  // typed by the router), not only adjustMoney.
  it('a trade that would take a balance past 2^53 - 1 fails typed on money, locally and across shards; nothing moves', async () => {
    const near = Number.MAX_SAFE_INTEGER - 50;
    const before = await money(b);
    await (await t.sql('alpha-primary')).query('UPDATE characters SET money = ? WHERE character_id = ?', [near, b]);
    const [moneyA, moneyC] = [await money(a), await money(c)];
    for (const giver of [a, c]) {
      const error = await t.db.trades
        .execute({ initiator: { characterId: giver, money: 100 }, recipient: { characterId: b } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ code: 'VALIDATION', fields: ['money'] });
    }
    expect([await money(a), await money(b), await money(c)]).toEqual([moneyA, near, moneyC]);
    await (await t.sql('alpha-primary')).query('UPDATE characters SET money = ? WHERE character_id = ?', [before, b]);
  });
});
