import mysql from 'mysql2/promise';
import { withBenchCluster } from './bench-cluster.js';

/**
 * Throughput with 16 requests in flight over pools of 10 (issue 13's figures), each against its
 * baseline measured side by side in the same run, rounds alternating so machine noise hits both:
 * - `characters.get` (strong) against raw mysql2 `execute` of the same SELECT on the same primary;
 * - `world.updatePosition` (accepted, then flushed by the write-behind buffer) against one
 *   UPDATE per move, and the CPU each accepted call costs the caller.
 */
const IN_FLIGHT = 16;
const ROUND_MS = 1_500;
const ROUNDS = 3;

export async function run(): Promise<void> {
  await withBenchCluster({ shards: 1, replicasPerShard: 0 }, { pool: { max: 10 } }, async ({ db, connect }) => {
    const { accountId } = await db.accounts.register({ username: 'bench_tp', email: 'bench_tp@zion.example', password: 'bench-pass-1' });
    const ids: number[] = [];
    for (let i = 0; i < 64; i++) {
      ids.push((await db.characters.create({ accountId, name: `Tp${i}`, archetype: 'spy', gender: 'male', districtId: 1 })).characterId);
    }
    const direct = await connect('alpha-primary');
    const config = direct.config;
    const raw = mysql.createPool({ host: config.host, port: config.port, user: 'root', database: 'mxo_shard', connectionLimit: 10 });
    const pick = (i: number) => ids[i % ids.length]!;
    try {
      const rawGet = (i: number) => raw.execute('SELECT character_id, money FROM characters WHERE character_id = ?', [pick(i)]);
      const libGet = (i: number) => db.characters.get(pick(i), { consistency: 'strong' });
      await rate(rawGet, 300);
      await rate(libGet, 300);
      const get = await alternate(rawGet, libGet);
      line('characters.get strong, q/s', get, 0.95);
      const [rawCpu, libCpu] = [await cpuPerCall(rawGet), await cpuPerCall(libGet)];
      console.log(
        `  CPU per call in this process: raw ${rawCpu.toFixed(1)} us, library ${libCpu.toFixed(1)} us (${(rawCpu / libCpu).toFixed(2)}x of raw's rate)`,
      );

      const naive = (i: number) =>
        raw.execute('UPDATE characters SET position_x = ?, position_y = ?, position_z = ? WHERE character_id = ?', [
          i % 1000,
          0,
          i % 777,
          pick(i),
        ]);
      const buffered = (i: number) => db.world.updatePosition(pick(i), { x: i % 1000, y: 0, z: i % 777 });
      const moves = await alternate(
        naive,
        async (i) => {
          await buffered(i);
        },
        async () => db.world.flush(),
      );
      line('world.updatePosition, moves/s', moves, 20);

      // CPU per accepted call, in the caller's process: a burst of calls, then the flush.
      const burst = 20_000;
      const before = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < burst; i++) await buffered(i);
      const cpu = process.cpuUsage(before);
      console.log(
        `  updatePosition CPU per accepted call: ${((cpu.user + cpu.system) / burst).toFixed(1)} us (${burst} calls in ${(performance.now() - started).toFixed(0)} ms; goal <= 5 us)`,
      );
      await db.world.flush();
    } finally {
      await raw.end();
    }
  });
}

/** Process CPU (user + system) per call over a fixed number of calls, IN_FLIGHT at a time. */
async function cpuPerCall(op: (i: number) => Promise<unknown>, calls = 8_000): Promise<number> {
  const before = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < calls) await op(next++);
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

interface Pair {
  base: number[];
  lib: number[];
}

/** Operations per second over one round with IN_FLIGHT loops. */
async function rate(op: (i: number) => Promise<unknown>, ms = ROUND_MS, after?: () => Promise<unknown>): Promise<number> {
  let done = 0;
  let next = 0;
  const until = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        await op(next++);
        done++;
      }
    }),
  );
  await after?.();
  return done / ((performance.now() - started) / 1000);
}

async function alternate(
  base: (i: number) => Promise<unknown>,
  lib: (i: number) => Promise<unknown>,
  libAfter?: () => Promise<unknown>,
): Promise<Pair> {
  const pair: Pair = { base: [], lib: [] };
  for (let r = 0; r < ROUNDS; r++) {
    pair.base.push(await rate(base));
    pair.lib.push(await rate(lib, ROUND_MS, libAfter));
  }
  return pair;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function line(what: string, pair: Pair, goal: number): void {
  const ratios = pair.lib.map((l, i) => l / pair.base[i]!);
  const ratio = median(ratios);
  console.log(
    `  ${what.padEnd(34)} library ${median(pair.lib).toFixed(0).padStart(7)}  baseline ${median(pair.base).toFixed(0).padStart(7)}  ` +
      `ratio ${ratio.toFixed(2)}x (runs ${ratios.map((r) => r.toFixed(2)).join(', ')}; goal >= ${goal}x: ${ratio >= goal ? 'met' : 'not met'})`,
  );
}
