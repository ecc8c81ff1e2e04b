/**
 * Sequential latency of the game-system calls on a 2-shard sandbox (no replicas): one caller,
 * so the figures are round trips, not throughput. Run: npx tsx bench/game-bench.ts
 */
import { withBenchCluster } from './bench-cluster.js';
import { fmt, summarize } from './stats.js';

const N = Number(process.env.MXO_GAME_BENCH_N ?? 200);

/** Runs this benchmark (from `npm run bench`, or on its own with tsx). */
export async function run(): Promise<void> {
  await withBenchCluster({ shards: 2, replicasPerShard: 0 }, {}, async ({ db }) => {
    const { accountId } = await db.accounts.register({ username: 'bench', email: 'bench@zion.example', password: 'bench-pass-1' });
    const make = async (name: string, districtId: number) => {
      const { characterId } = await db.characters.create({ accountId, name, archetype: 'hacker', gender: 'male', districtId });
      await db.characters.adjustMoney(characterId, 1_000_000, 'admin_grant');
      return characterId;
    };
    const a = await make('BenchA', 1);
    const b = await make('BenchB', 1);
    const c = await make('BenchC', 4);
    const templateId = await db.items.defineTemplate({ itemName: 'Bench chip', itemType: 'clothing', itemSubtype: 'hat' });
    const { vendorId } = await db.vendors.define({
      vendorName: 'Bench vendor',
      districtId: 1,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'general',
      maxInventorySize: 1_000_000,
      stock: [{ templateId, maxStock: 1_000_000, basePrice: 1 }],
    });
    const { hardlineId: h1 } = await db.world.defineHardline({ districtId: 1, hardlineName: 'H1', position: { x: 0, y: 0, z: 0 } });
    const { hardlineId: h4 } = await db.world.defineHardline({ districtId: 4, hardlineName: 'H4', position: { x: 0, y: 0, z: 0 } });
    const time = async (label: string, fn: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < 10; i++) await fn(-1 - i); // warm-up
      const samples: number[] = [];
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        await fn(i);
        samples.push(performance.now() - t0);
      }
      const s = summarize(samples);
      console.log(`${label.padEnd(34)} n=${s.n}  p50 ${fmt(s.p50)}  p99 ${fmt(s.p99)}`);
    };
    const bought: number[] = [];
    await time('vendors.buy', async () => bought.push(...(await db.vendors.buy({ characterId: a, vendorId, templateId })).itemIds));
    await time('vendors.sell', async () => db.vendors.sell({ characterId: a, vendorId, itemId: bought.pop()! }));
    const fight = (target: number, districtId: number) => ({
      encounterType: 'pvp' as const,
      initiatorId: a,
      targetId: target,
      targetType: 'player' as const,
      districtId,
      position: { x: 0, y: 0, z: 0 },
      result: 'win' as const,
      damageDealt: 10,
    });
    await time('combat.record (pvp, one shard)', () => db.combat.record(fight(b, 1)));
    await time('combat.record (pvp, two shards)', () => db.combat.record(fight(c, 4)));
    const [hat] = (await db.vendors.buy({ characterId: a, vendorId, templateId })).itemIds as [number];
    await time('inventory.equip', () => db.inventory.equip(a, hat, 'clothing_head'));
    const window = async (other: number) => {
      const { tradeId } = await db.trades.open(a, other);
      await db.trades.offer(tradeId, a, { money: 1 });
      await db.trades.confirm(tradeId, other);
      await db.trades.confirm(tradeId, a);
    };
    await time('trade window, 4 calls (one shard)', () => window(b));
    await time('trade window, 4 calls (two shards)', () => window(c));
    let there = false; // b alternates between district 1 (alpha) and 4 (beta)
    await time('world.useHardline (moves shards)', async () => {
      await db.world.useHardline(b, there ? h4 : h1, there ? h1 : h4);
      there = !there;
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
