import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKeyReusedError, openCluster, OutcomeUnknownError, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { FaultProxy, type ArmedTrigger } from './support/fault-proxy.js';

// The one idempotency contract (src/routing/idempotency.ts), for every call that takes a key:
// the same request replays its first result and writes nothing; another request under the key
// is IdempotencyKeyReusedError with nothing written; another character's identical key is its
// own request. And a retry after an ambiguous commit and a hardline trip to another shard
// applies once: the key moved with the character.
let t: TestCluster;
let accountId: number;
let gear: number; // a sellable, repairable item template
let vendorId: number;
/** Arms the global proxy when a two-phase commit reaches its decision (the hook). */
/** How a COMMIT is lost: never sent to the server, or run there with its answer lost. */
type CommitFault = 'drop-commit' | 'drop-ack';
let armOnDeciding: { fault: CommitFault; refuse: boolean } | undefined;
/** The trigger armed for the case in progress. */
let armed: ArmedTrigger | undefined;

/** Arms the loss of the next COMMIT; with `refuse` the node then looks unreachable as a whole. */
function armCommit(proxy: FaultProxy, fault: CommitFault, refuse: boolean): void {
  proxy.refuseNew = refuse;
  armed = proxy.arm({ match: /^COMMIT$/i, at: fault === 'drop-commit' ? 'before' : 'answered', action: 'close', othersToo: refuse });
}

const conns = new Map<string, Awaited<ReturnType<TestCluster['sql']>>>();
async function q(node: string, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  if (!conns.has(node)) conns.set(node, await t.sql(node));
  return (await conns.get(node)!.query<RowDataPacket[]>(sql, params))[0];
}
const num = async (node: string, sql: string, params: unknown[] = []) => Number(Object.values((await q(node, sql, params))[0]!)[0]);

async function behindProxy(node: 'global' | 'alpha'): Promise<{ db: Cluster; proxy: FaultProxy }> {
  const target = t.sandbox.node(`${node}-primary`);
  const proxy = await FaultProxy.start({ host: target.host, port: target.port });
  const swap = (url: unknown) => String(url).replace(`:${target.port}/`, `:${proxy.port}/`);
  const config =
    node === 'global'
      ? { ...t.config, global: { ...t.config.global, primary: swap(t.config.global.primary) } }
      : { ...t.config, shards: t.config.shards!.map((s) => (s.name === node ? { ...s, primary: swap(s.primary) } : s)) };
  expect(JSON.stringify(config)).toContain(`:${proxy.port}/`);
  const db = await openCluster(
    { ...config, pool: { connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000, downBackoffMs: 100 } },
    {
      hooks: {
        onPhase: (phase) => {
          if (phase === 'deciding' && armOnDeciding && node === 'global') {
            armCommit(proxy, armOnDeciding.fault, armOnDeciding.refuse);
            armOnDeciding = undefined;
          }
        },
      },
    },
  );
  return { db, proxy };
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  accountId = (await t.db.accounts.register({ username: 'keymaker', email: 'keymaker@zion.example', password: 'keymaker-42' })).accountId;
  gear = await t.db.items.defineTemplate({ itemName: 'Key Ring', itemType: 'weapon', baseValue: 400, stackSize: 2 });
  ({ vendorId } = await t.db.vendors.define({
    vendorName: 'Locksmith',
    districtId: 1,
    position: { x: 0, y: 0, z: 0 },
    vendorType: 'general',
    stock: [{ templateId: gear, maxStock: 1_000, basePrice: 10 }],
  }));
  // A hardline each side of the shard line (district 1 on alpha, 4 on beta), no fare.
  await t.db.world.defineHardline({ districtId: 1, hardlineName: 'Keyhole', position: { x: 0, y: 0, z: 0 }, hardlineNumber: 1 });
  await t.db.world.defineHardline({ districtId: 4, hardlineName: 'Gate', position: { x: 0, y: 0, z: 0 }, hardlineNumber: 2 });
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

let n = 0;
/** A character in district 1 (alpha) with money, that knows both hardlines. */
async function character(): Promise<number> {
  const { characterId } = await t.db.characters.create({
    accountId,
    name: `Keyholder${n++}`,
    archetype: 'hacker',
    gender: 'female',
    districtId: 1,
  });
  await q('alpha-primary', "UPDATE characters SET faction = 'zion' WHERE character_id = ?", [characterId]);
  await t.db.characters.adjustMoney(characterId, 10_000, 'admin_grant');
  await t.db.characters.moveToDistrict(characterId, 4);
  await t.db.world.discoverHardline(characterId, 4, 2);
  await t.db.characters.moveToDistrict(characterId, 1);
  await t.db.world.discoverHardline(characterId, 1, 1);
  return characterId;
}

/** A hardline trip between district 1 (alpha) and 4 (beta). */
async function trip(cid: number, to: 'alpha' | 'beta'): Promise<void> {
  const there = { districtId: 4, hardlineNumber: 2 };
  const here = { districtId: 1, hardlineNumber: 1 };
  const moved = await t.db.world.travel(cid, to === 'beta' ? { from: here, to: there } : { from: there, to: here });
  expect(moved).toMatchObject({ shard: to, movedShards: true });
}

/** Everything a keyed call can change for a character, wherever it lives, plus the shared banks and stock. */
async function fingerprint(cid: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const shard of ['alpha', 'beta']) {
    const node = `${shard}-primary`;
    out[`${shard}.money`] = await num(node, 'SELECT COALESCE(SUM(money), 0) FROM characters WHERE character_id = ?', [cid]);
    out[`${shard}.items`] = await num(node, 'SELECT COALESCE(SUM(quantity), 0) FROM character_inventory WHERE character_id = ?', [cid]);
    out[`${shard}.durability`] = await num(node, 'SELECT COALESCE(SUM(durability), 0) FROM character_inventory WHERE character_id = ?', [
      cid,
    ]);
    out[`${shard}.mods`] = await num(
      node,
      'SELECT COUNT(*) FROM item_modifications m JOIN character_inventory i USING (item_id) WHERE i.character_id = ?',
      [cid],
    );
    out[`${shard}.ledger`] = await num(node, 'SELECT COUNT(*) FROM transaction_history WHERE ? IN (from_character_id, to_character_id)', [
      cid,
    ]);
    out[`${shard}.missions`] = await num(node, 'SELECT COUNT(*) FROM mission_history WHERE character_id = ?', [cid]);
    out[`${shard}.encounters`] = await num(node, 'SELECT COUNT(*) FROM combat_encounters WHERE initiator_id = ?', [cid]);
    out[`${shard}.keys`] = await num(node, 'SELECT COUNT(*) FROM idempotency_keys WHERE character_id = ?', [cid]);
  }
  out.treasuries = await num('global-primary', 'SELECT COALESCE(SUM(treasury_amount), 0) FROM organizations');
  out.crewBanks = await num('global-primary', 'SELECT COALESCE(SUM(bank_amount), 0) FROM crews');
  out.stock = await num('alpha-primary', 'SELECT COALESCE(SUM(current_stock), 0) FROM vendor_inventory WHERE vendor_id = ?', [vendorId]);
  return out;
}

/** A result without its "this was a replay" flags. */
const strip = (r: unknown) => {
  const { replayed: _r, alreadyCompleted: _a, ...rest } = r as Record<string, unknown>;
  return rest;
};

/**
 * A call that takes a key: `prepare` readies a character for it (once per character), `run`
 * makes the call with variant 'a' (the request) or 'b' (another request).
 */
interface KeyedCall {
  name: string;
  prepare(cid: number): Promise<Record<string, number>>;
  run(db: Cluster, cid: number, ctx: Record<string, number>, key: string, variant: 'a' | 'b'): Promise<unknown>;
}

let missionSerial = 0;
const calls: KeyedCall[] = [
  {
    name: 'characters.adjustMoney',
    prepare: async () => ({}),
    run: (db, cid, _c, key, v) => db.characters.adjustMoney(cid, v === 'a' ? 25 : 26, 'quest_reward', { idempotencyKey: key }),
  },
  {
    name: 'inventory.grant',
    prepare: async () => ({}),
    run: (db, cid, _c, key, v) => db.inventory.grant(cid, { templateId: gear, quantity: v === 'a' ? 1 : 2, idempotencyKey: key }),
  },
  {
    name: 'inventory.modify',
    prepare: async (cid) => ({ item: (await t.db.inventory.grant(cid, { templateId: gear })).itemId }),
    run: (db, cid, c, key, v) =>
      db.inventory.modify(
        cid,
        c.item!,
        { modificationType: 'enhancement', modificationData: { accuracy: 1 }, cost: v === 'a' ? 5 : 6 },
        { idempotencyKey: key },
      ),
  },
  {
    name: 'inventory.repair',
    prepare: async (cid) => {
      const a = (await t.db.inventory.grant(cid, { templateId: gear })).itemId;
      const b = (await t.db.inventory.grant(cid, { templateId: gear })).itemId;
      for (const shard of ['alpha-primary', 'beta-primary'])
        await q(shard, 'UPDATE character_inventory SET durability = 50 WHERE item_id IN (?, ?)', [a, b]);
      return { a, b };
    },
    run: (db, cid, c, key, v) => db.inventory.repair(cid, v === 'a' ? c.a! : c.b!, { idempotencyKey: key }),
  },
  {
    name: 'vendors.buy',
    prepare: async () => ({}),
    run: (db, cid, _c, key, v) =>
      db.vendors.buy({ characterId: cid, vendorId, templateId: gear, quantity: v === 'a' ? 1 : 2, idempotencyKey: key }),
  },
  {
    name: 'vendors.sell',
    prepare: async (cid) => ({
      a: (await t.db.inventory.grant(cid, { templateId: gear })).itemId,
      b: (await t.db.inventory.grant(cid, { templateId: gear })).itemId,
    }),
    run: (db, cid, c, key, v) => db.vendors.sell({ characterId: cid, vendorId, itemId: v === 'a' ? c.a! : c.b!, idempotencyKey: key }),
  },
  {
    name: 'vendors.sellSlot',
    prepare: async (cid) => ({
      a: (await t.db.inventory.grant(cid, { templateId: gear })).slotPosition!,
      b: (await t.db.inventory.grant(cid, { templateId: gear })).slotPosition!,
    }),
    run: (db, cid, c, key, v) => db.vendors.sellSlot({ characterId: cid, vendorId, slot: v === 'a' ? c.a! : c.b!, idempotencyKey: key }),
  },
  {
    name: 'organizations.deposit',
    prepare: async (cid) => ({
      org: (await t.db.organizations.create({ organizationName: `Keepers ${cid}`, faction: 'zion', leaderId: cid })).organizationId,
    }),
    run: (db, cid, c, key, v) => db.organizations.deposit(c.org!, cid, v === 'a' ? 40 : 41, { idempotencyKey: key }),
  },
  {
    name: 'organizations.withdraw',
    prepare: async (cid) => {
      const { organizationId } = await t.db.organizations.create({ organizationName: `Vault ${cid}`, faction: 'zion', leaderId: cid });
      await t.db.organizations.deposit(organizationId, cid, 500);
      return { org: organizationId };
    },
    run: (db, cid, c, key, v) => db.organizations.withdraw(c.org!, cid, v === 'a' ? 40 : 41, { idempotencyKey: key }),
  },
  {
    name: 'crews.deposit',
    prepare: async (cid) => ({ crew: (await t.db.crews.create({ captainId: cid, crewName: `Keys ${cid}` })).crewId }),
    run: (db, cid, c, key, v) => db.crews.deposit(c.crew!, cid, v === 'a' ? 40 : 41, { idempotencyKey: key }),
  },
  {
    name: 'crews.withdraw',
    prepare: async (cid) => {
      const { crewId } = await t.db.crews.create({ captainId: cid, crewName: `Locks ${cid}` });
      await t.db.crews.deposit(crewId, cid, 500);
      return { crew: crewId };
    },
    run: (db, cid, c, key, v) => db.crews.withdraw(c.crew!, cid, v === 'a' ? 40 : 41, { idempotencyKey: key }),
  },
  {
    name: 'trades.execute',
    prepare: async () => ({ partner: await character() }),
    run: (db, cid, c, key, v) =>
      db.trades.execute({
        initiator: { characterId: cid, money: v === 'a' ? 30 : 31 },
        recipient: { characterId: c.partner! },
        idempotencyKey: key,
      }),
  },
  {
    name: 'missions.complete',
    prepare: async (cid) => {
      const ids: Record<string, number> = {};
      for (const v of ['a', 'b']) {
        ids[v] = await t.db.missions.defineTemplate({
          missionName: `Unlock ${missionSerial++}`,
          missionType: 'side',
          objectives: [{ description: 'Turn the key', required: 1 }],
          moneyReward: 15,
        });
        await t.db.missions.accept(cid, ids[v]!);
        await t.db.missions.progress(cid, ids[v]!, 0, 1);
      }
      return ids;
    },
    run: (db, cid, c, key, v) => db.missions.complete(cid, c[v]!, { idempotencyKey: key }),
  },
  {
    name: 'combat.record',
    prepare: async () => ({}),
    run: (db, cid, _c, key, v) =>
      db.combat.record({
        encounterType: 'pve',
        initiatorId: cid,
        targetType: 'npc',
        districtId: 1,
        position: { x: 0, y: 0, z: 0 },
        result: 'victory',
        damageDealt: v === 'a' ? 100 : 101,
        idempotencyKey: key,
      }),
  },
];

describe.each(calls)('$name with an idempotency key', (call) => {
  it('replays the same request, refuses another under the key with nothing written, and keeps keys per character', async () => {
    const [c1, c2] = [await character(), await character()];
    const [x1, x2] = [await call.prepare(c1), await call.prepare(c2)];
    const key = `key-${call.name}`;

    const first = await call.run(t.db, c1, x1, key, 'a');
    const afterFirst = await fingerprint(c1);
    const again = await call.run(t.db, c1, x1, key, 'a');
    expect(strip(again)).toEqual(strip(first));
    expect(await fingerprint(c1)).toEqual(afterFirst);

    await expect(call.run(t.db, c1, x1, key, 'b')).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    expect(await fingerprint(c1)).toEqual(afterFirst);

    // The same key from another character is that character's own request: it runs.
    const before2 = await fingerprint(c2);
    const own = (await call.run(t.db, c2, x2, key, 'a')) as Record<string, unknown>;
    expect(own.replayed ?? false).toBe(false);
    expect(own.alreadyCompleted ?? false).toBe(false);
    expect(await fingerprint(c2)).not.toEqual(before2);
    expect(await num('alpha-primary', 'SELECT COUNT(*) FROM idempotency_keys WHERE character_id = ?', [c2])).toBe(1);
  });
});

/** Calls whose keyed retry must survive an ambiguous commit and a hardline trip. */
const travelled: Array<{ name: string; via: 'global' | 'alpha'; twoPhase: boolean }> = [
  { name: 'organizations.withdraw', via: 'global', twoPhase: true },
  { name: 'crews.deposit', via: 'global', twoPhase: true },
  { name: 'vendors.buy', via: 'alpha', twoPhase: false },
  { name: 'trades.execute', via: 'alpha', twoPhase: false },
];

describe.each(travelled)('$name: OUTCOME_UNKNOWN, a hardline trip to another shard, the retry', ({ name, via, twoPhase }) => {
  const call = calls.find((c) => c.name === name)!;
  it.each(['drop-ack', 'drop-commit'] as const)('%s: the retry applies it exactly once', async (fault) => {
    const cid = await character();
    const ctx = await call.prepare(cid);
    const key = `trip-${name}-${fault}`;
    // A fresh handle and proxy per case: no pool remembers the last case's unreachable node.
    const { db, proxy } = await behindProxy(via);
    const before = await fingerprint(cid);
    try {
      if (twoPhase) armOnDeciding = { fault, refuse: true };
      else armCommit(proxy, fault, false);
      await expect(call.run(db, cid, ctx, key, 'a')).rejects.toBeInstanceOf(OutcomeUnknownError);
      expect(armed?.fired).toEqual(['COMMIT']);
    } finally {
      armOnDeciding = undefined;
      proxy.refuseNew = false;
      await db.close().catch(() => {});
      await proxy.close();
    }
    // Settle the in-doubt branches (from a handle that reaches every node directly).
    expect((await t.db.recover()).pending).toEqual([]);
    const settled = await fingerprint(cid);
    const committed = settled['alpha.money'] !== before['alpha.money'] || settled.stock !== before.stock;
    expect(committed).toBe(fault === 'drop-ack');

    await trip(cid, 'beta');
    // A vendor sells only in its district: the purchase's retry comes back for it.
    if (name === 'vendors.buy' && !committed) await trip(cid, 'alpha');
    const retry = (await call.run(t.db, cid, ctx, key, 'a')) as { replayed: boolean; price?: number };
    expect(retry.replayed).toBe(committed);
    // Applied once in all: the money moved once, one key, wherever the character is now.
    const after = await fingerprint(cid);
    expect(after['alpha.keys'] + after['beta.keys'] - before['alpha.keys'] - before['beta.keys']).toBe(1);
    const money = (f: Record<string, number>) => f['alpha.money'] + f['beta.money'];
    const paid = { 'organizations.withdraw': -40, 'crews.deposit': 40, 'trades.execute': 30, 'vendors.buy': retry.price };
    expect(money(before) - money(after)).toBe(paid[name as keyof typeof paid]);
    if (name === 'vendors.buy') expect(before.stock - after.stock).toBe(1);
    if (name === 'crews.deposit') expect(after.crewBanks - before.crewBanks).toBe(40);
    if (name === 'organizations.withdraw') expect(before.treasuries - after.treasuries).toBe(40);
  });
});
