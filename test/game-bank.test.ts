/**
 * The vendor-and-trade bank test: characters on two shards buy from and sell to their district's
 * vendor and trade through trade windows (same-shard and cross-shard) from several workers while
 * shard primaries are killed -9 and restarted. Afterwards, by plain SQL on every server: nothing
 * prepared; money conserved (vendors are the only source and sink besides the seed grants, and
 * the ledger explains every unit); every item in exactly one place and exactly the items bought
 * and not sold; vendor stock never below zero and equal to what the ledger says.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { readWorld, recoverUntilClean, rowsOn, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters, type SeededCharacter } from './support/twopc-world.js';

const DURATION_MS = Number(process.env.MXO_GAME_BANK_MS ?? 12_000);
const WORKERS = 5;
const GRACE_MS = 1_500;
const STOCK = 100_000;

describe('game bank test: vendors and trade windows while shard primaries are killed -9', () => {
  let tc: TestCluster;
  beforeAll(async () => {
    tc = await startTestCluster({
      shards: 2,
      replicasPerShard: 0,
      config: {
        recovery: { intervalMs: 1_000, gracePeriodMs: GRACE_MS },
        pool: { max: 12, downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000, lockWaitTimeoutSec: 2 },
        twoPhase: { statementTimeoutMs: 4_000, deadlockRetries: 5 },
      },
    });
  });
  afterAll(async () => tc?.stop());

  it('conserves money, items and stock', async () => {
    const { db, sandbox } = tc;
    const { characters } = await seedCharacters(db, { districts: [1, 4], count: 12, money: 1_000, itemsEach: 0, prefix: 'gbank' });
    const ids = characters.map((c) => c.id);
    const templateId = await db.items.defineTemplate({ itemName: 'Bank Chip', itemType: 'misc', stackSize: 1 });
    const vendorOf = new Map<number, number>();
    for (const d of [1, 4]) {
      const { vendorId } = await db.vendors.define({
        vendorName: `Bank vendor ${d}`,
        districtId: d,
        position: { x: 0, y: 0, z: 0 },
        vendorType: 'general',
        maxInventorySize: 10 * STOCK,
        stock: [{ templateId, maxStock: 10 * STOCK, currentStock: STOCK, basePrice: 10 }],
      });
      vendorOf.set(d, vendorId);
    }
    const owner = new Map<number, number>(); // best-known owner of each item
    const rand = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
    const itemsOf = (c: SeededCharacter) => [...owner].filter(([, o]) => o === c.id).map(([i]) => i);
    const counts = { buy: 0, sell: 0, windowSame: 0, windowCross: 0 };
    const errors = new Map<string, number>();
    const untyped: string[] = [];
    const deadline = Date.now() + DURATION_MS;

    const note = async (error: unknown) => {
      const key = error instanceof MxoError ? error.code : `UNTYPED ${(error as Error)?.constructor?.name}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
      if (!(error instanceof MxoError)) untyped.push(String((error as Error)?.stack ?? error));
      await new Promise((r) => setTimeout(r, 20));
    };
    const worker = async () => {
      while (Date.now() < deadline) {
        const me = rand(characters);
        const roll = Math.random();
        try {
          if (roll < 0.4) {
            const r = await db.vendors.buy({
              characterId: me.id,
              vendorId: vendorOf.get(me.districtId)!,
              templateId,
              quantity: 1 + Math.floor(Math.random() * 2),
            });
            for (const i of r.itemIds) owner.set(i, me.id);
            counts.buy++;
          } else if (roll < 0.6) {
            const item = rand(itemsOf(me).length ? itemsOf(me) : [0]);
            if (!item) continue;
            await db.vendors.sell({ characterId: me.id, vendorId: vendorOf.get(me.districtId)!, itemId: item });
            owner.delete(item);
            counts.sell++;
          } else {
            const other = rand(characters.filter((c) => c.id !== me.id));
            const give = itemsOf(me).slice(0, 1);
            const { tradeId } = await db.trades.open(me.id, other.id);
            await db.trades.offer(tradeId, me.id, { money: 1 + Math.floor(Math.random() * 30), itemIds: give });
            await db.trades.offer(tradeId, other.id, { money: Math.floor(Math.random() * 10) });
            await db.trades.confirm(tradeId, other.id);
            const r = await db.trades.confirm(tradeId, me.id);
            if (r.executed) {
              for (const i of give) owner.set(i, other.id);
              if (r.crossShard) counts.windowCross++;
              else counts.windowSame++;
            }
          }
        } catch (error) {
          await note(error);
        }
      }
    };
    const kills: string[] = [];
    const chaos = async () => {
      await new Promise((r) => setTimeout(r, 2_000));
      while (Date.now() < deadline - 3_000) {
        const node = rand(['alpha-primary', 'beta-primary']);
        await sandbox.kill(node);
        kills.push(node);
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
        await sandbox.restart(node);
        await new Promise((r) => setTimeout(r, 2_500 + Math.random() * 1_500));
      }
    };
    await Promise.all([chaos(), ...Array.from({ length: WORKERS }, worker)]);
    console.log('game bank test:', JSON.stringify({ counts, kills, errors: Object.fromEntries(errors) }));
    expect(untyped, 'every error must be an MxoError').toEqual([]);
    expect(kills.length).toBeGreaterThanOrEqual(2);
    expect(counts.buy).toBeGreaterThan(20);
    expect(counts.sell).toBeGreaterThan(5);
    expect(counts.windowCross + counts.windowSame).toBeGreaterThan(5);

    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    await recoverUntilClean(db, sandbox);
    expect(await xaRecoverAll(sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });

    const world = await readWorld(sandbox, ids);
    expect(world.problems).toEqual([]);
    let granted = 0;
    let created = 0;
    let destroyed = 0;
    const bought = new Set<number>();
    const sold = new Set<number>();
    const net = new Map<number, number>(); // vendor -> bought - sold (units)
    for (const node of ['alpha-primary', 'beta-primary']) {
      const ledger = await rowsOn<RowDataPacket>(
        sandbox,
        node,
        "SELECT transaction_type, money_amount, vendor_id, items_transferred FROM transaction_history WHERE transaction_type IN ('admin_grant', 'vendor_purchase', 'vendor_sale')",
      );
      for (const row of ledger) {
        const amount = Number(row.money_amount);
        const items = (
          typeof row.items_transferred === 'string' ? JSON.parse(row.items_transferred) : (row.items_transferred ?? [])
        ) as Array<{ itemId: number; quantity: number }>;
        const units = items.reduce((s, i) => s + Number(i.quantity), 0);
        if (row.transaction_type === 'admin_grant') granted += amount;
        if (row.transaction_type === 'vendor_sale') {
          created += amount;
          for (const i of items) sold.add(Number(i.itemId));
          net.set(Number(row.vendor_id), (net.get(Number(row.vendor_id)) ?? 0) - units);
        }
        if (row.transaction_type === 'vendor_purchase') {
          destroyed += amount;
          for (const i of items) bought.add(Number(i.itemId));
          net.set(Number(row.vendor_id), (net.get(Number(row.vendor_id)) ?? 0) + units);
        }
      }
      const stock = await rowsOn<RowDataPacket>(sandbox, node, 'SELECT vendor_id, current_stock FROM vendor_inventory');
      for (const s of stock) {
        expect(Number(s.current_stock)).toBeGreaterThanOrEqual(0);
        expect(Number(s.current_stock), `stock of vendor ${s.vendor_id}`).toBe(STOCK - (net.get(Number(s.vendor_id)) ?? 0));
      }
    }
    // Money: the seed grants plus vendor sales minus purchases; trades only move it.
    expect(world.totalMoney).toBe(granted + created - destroyed);
    expect(granted).toBe(12_000);
    // Items: exactly those bought and not sold, each in one inventory.
    const expected = [...bought].filter((i) => !sold.has(i)).sort((a, b) => a - b);
    expect([...world.items.keys()].sort((a, b) => a - b)).toEqual(expected);
  }, 120_000);
});
