/**
 * The trade rejection matrix, same-shard and cross-shard: every refused trade fails with its exact
 * error type, changes no row on any node (full before/after SQL snapshot), leaves nothing
 * prepared, and does not consume its idempotency key (the same key then runs a real trade).
 * Each refused trade also carries valid parts (money, a good item), so a partial write shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsufficientFundsError, TradeAbortedError, ValidationError, type TradeInput } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { snapshotDiff, snapshotNodes } from './support/snapshot.js';
import { rowsOn, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters } from './support/twopc-world.js';

const NODES = ['global-primary', 'alpha-primary', 'beta-primary'];
let t: TestCluster;

interface Party {
  id: number;
  items: number[];
  bound: number;
  equipped: number;
  untradeable: number;
}
/** a (district 1, alpha); b: same shard (district 2) or other shard (district 4). */
const worlds: Record<'same' | 'cross', { a: Party; b: Party }> = {} as never;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const untradeable = await t.db.items.defineTemplate({ itemName: 'Quest key', itemType: 'misc', isTradeable: false });
  for (const [name, districts] of [
    ['same', [1, 2]],
    ['cross', [1, 4]],
  ] as const) {
    const { characters } = await seedCharacters(t.db, {
      districts: [...districts],
      count: 2,
      money: 100,
      itemsEach: 4,
      prefix: `rj${name}`,
    });
    const parties = [];
    for (const c of characters) {
      const [good1, good2, bound, equipped] = c.items as [number, number, number, number];
      const node = `${c.shard}-primary`;
      await rowsOn(t.sandbox, node, 'UPDATE character_inventory SET is_bound = TRUE WHERE item_id = ?', [bound]);
      // Equipped without being bound (equip() would bind it): only the equipped guard can refuse it.
      await rowsOn(t.sandbox, node, "UPDATE character_inventory SET container_type = 'equipped' WHERE item_id = ?", [equipped]);
      await rowsOn(t.sandbox, node, "INSERT INTO character_equipment (character_id, slot_name, item_id) VALUES (?, 'weapon_primary', ?)", [
        c.id,
        equipped,
      ]);
      const locked = (await t.db.inventory.grant(c.id, { templateId: untradeable })).itemId;
      parties.push({ id: c.id, items: [good1, good2], bound, equipped, untradeable: locked });
    }
    worlds[name] = { a: parties[0]!, b: parties[1]! };
  }
});
afterAll(async () => t?.stop());

type Case = { name: string; error: new (...args: never[]) => Error; input: (a: Party, b: Party) => Omit<TradeInput, 'idempotencyKey'> };

const cases: Case[] = [
  {
    name: 'self-trade',
    error: ValidationError,
    input: (a) => ({ initiator: { characterId: a.id, money: 10 }, recipient: { characterId: a.id, money: 5 } }),
  },
  {
    name: 'a repeated item',
    error: ValidationError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!, a.items[0]!] },
      recipient: { characterId: b.id },
    }),
  },
  {
    name: 'an item on both sides',
    error: ValidationError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!] },
      recipient: { characterId: b.id, itemIds: [a.items[0]!] },
    }),
  },
  {
    name: 'an empty trade',
    error: ValidationError,
    input: (a, b) => ({ initiator: { characterId: a.id }, recipient: { characterId: b.id, money: 0, itemIds: [] } }),
  },
  {
    name: 'initiator short of money',
    error: InsufficientFundsError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 100_000, itemIds: [a.items[0]!] },
      recipient: { characterId: b.id, money: 5, itemIds: [b.items[0]!] },
    }),
  },
  {
    name: 'recipient short of money',
    error: InsufficientFundsError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!] },
      recipient: { characterId: b.id, money: 100_000 },
    }),
  },
  {
    name: 'an item the giver does not own',
    error: TradeAbortedError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!, b.items[1]!] },
      recipient: { characterId: b.id, money: 5 },
    }),
  },
  {
    name: 'a bound item',
    error: TradeAbortedError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!, a.bound] },
      recipient: { characterId: b.id, money: 5 },
    }),
  },
  {
    name: 'an equipped item',
    error: TradeAbortedError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!, a.equipped] },
      recipient: { characterId: b.id, money: 5 },
    }),
  },
  {
    name: 'an item that is not tradeable',
    error: TradeAbortedError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!, a.untradeable] },
      recipient: { characterId: b.id, money: 5 },
    }),
  },
  {
    name: "a bound item on the recipient's side",
    error: TradeAbortedError,
    input: (a, b) => ({
      initiator: { characterId: a.id, money: 10, itemIds: [a.items[0]!] },
      recipient: { characterId: b.id, money: 5, itemIds: [b.items[0]!, b.bound] },
    }),
  },
  {
    name: 'an item the recipient does not own',
    error: TradeAbortedError,
    input: (a, b) => ({ initiator: { characterId: a.id, money: 10 }, recipient: { characterId: b.id, money: 5, itemIds: [a.items[1]!] } }),
  },
];

describe.each(['same', 'cross'] as const)('%s-shard trade refused', (topology) => {
  it.each(cases)('$name', async ({ name, error, input }) => {
    const { a, b } = worlds[topology];
    const key = `rej-${topology}-${name}`.slice(0, 64);
    const before = await snapshotNodes(t.sandbox, NODES);
    const thrown = await t.db.trades.execute({ ...input(a, b), idempotencyKey: key }).then(
      (r) => r,
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(error);
    expect((thrown as Error).constructor).toBe(error); // the exact type, not a subclass
    expect(snapshotDiff(before, await snapshotNodes(t.sandbox, NODES))).toEqual([]);
    expect(await xaRecoverAll(t.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
    // The key is still free: the same key now runs a real trade, once.
    const ok = await t.db.trades.execute({
      initiator: { characterId: a.id, money: 1 },
      recipient: { characterId: b.id },
      idempotencyKey: key,
    });
    expect(ok).toMatchObject({ replayed: false, crossShard: topology === 'cross' });
  });
});
