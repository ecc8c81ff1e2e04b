import { Kysely, MysqlDialect } from 'kysely';
import { createPool as createCallbackPool } from 'mysql2';
import mysql from 'mysql2/promise';
import { CHARACTER_COLUMNS } from '../src/systems/characters/character-columns.js';
import { withBenchCluster } from './bench-cluster.js';
import { report, say } from './report.js';

/**
 * Throughput with 16 requests in flight over pools of 10 (issue 13's figures), each against its
 * baseline measured side by side in the same run: every round measures every kind once, in a
 * rotating order, so machine noise hits all alike; figures are the median of the rounds' ratios.
 *
 * Reads of one character by id on the shard primary:
 * - raw mysql2 `execute` of the library's own SELECT (same columns, same row): the baseline;
 * - raw mysql2 `execute` of a two-column SELECT, and `query` (text protocol) of the same SELECT;
 * - Kysely (MysqlDialect over a mysql2 pool of 10) building the same SELECT: the best-known peer;
 * - `db.characters.get(id, { consistency: 'strong' })` with coalescing off (`reads.coalesce: false`:
 *   one statement per call, the per-call cost of the library's layers) and on (the default:
 *   concurrent gets on a shard share `WHERE character_id IN (...)` statements of at most 8 ids,
 *   so 16 in flight take two statements at once), and with `reads.maxBatch: 64` (one statement
 *   for all 16: every caller waits on it);
 * - `db.characters.getMany` of 16 ids per call (rows/s);
 * - `db.characters.load(id)` and `db.characters.spawn(id)` (entering the world: a statement on
 *   the shard and one on global, at once), as time per call against one get (goal: at most 2x).
 * Write-behind: `world.updatePosition` (accepted, then flushed) against one UPDATE per move, and
 * the CPU each accepted call costs the caller.
 */
const IN_FLIGHT = 16;
const ROUND_MS = Number(process.env.MXO_BENCH_ROUND_MS ?? 1_200);
const ROUNDS = Number(process.env.MXO_BENCH_ROUNDS ?? 5);
const SUITE = 'throughput';

type Op = (i: number) => Promise<unknown>;

export async function run(): Promise<void> {
  await withBenchCluster({ shards: 1, replicasPerShard: 0 }, { pool: { max: 10 } }, async ({ db, connect, open }) => {
    const single = await open({ pool: { max: 10 }, reads: { coalesce: false } });
    const sixtyFours = await open({ pool: { max: 10 }, reads: { maxBatch: 64 } });
    const { accountId } = await db.accounts.register({ username: 'bench_tp', email: 'bench_tp@zion.example', password: 'bench-pass-1' });
    const ids: number[] = [];
    for (let i = 0; i < 64; i++) {
      ids.push((await db.characters.create({ accountId, name: `Tp${i}`, archetype: 'spy', gender: 'male', districtId: 1 })).characterId);
    }
    const direct = await connect('alpha-primary');
    const { host, port } = direct.config;
    const raw = mysql.createPool({ host, port, user: 'root', database: 'mxo_shard', connectionLimit: 10 });
    const kysely = new Kysely<Record<string, Record<string, unknown>>>({
      dialect: new MysqlDialect({ pool: createCallbackPool({ host, port, user: 'root', database: 'mxo_shard', connectionLimit: 10 }) }),
    });
    const columns = [...CHARACTER_COLUMNS.split(',').map((c) => c.trim()), 'deleted_at'];
    const librarySql = `SELECT ${columns.join(', ')} FROM characters WHERE character_id = ?`;
    const pick = (i: number) => ids[i % ids.length]!;
    try {
      const reads: Array<[string, Op]> = [
        ['raw execute, same SELECT', (i) => raw.execute(librarySql, [pick(i)])],
        ['raw execute, 2 columns', (i) => raw.execute('SELECT character_id, money FROM characters WHERE character_id = ?', [pick(i)])],
        ['raw query, same SELECT', (i) => raw.query(librarySql, [pick(i)])],
        [
          'Kysely, same SELECT',
          (i) => kysely.selectFrom('characters').select(columns).where('character_id', '=', pick(i)).executeTakeFirst(),
        ],
        ['characters.get strong, one statement each', (i) => single.characters.get(pick(i), { consistency: 'strong' })],
        ['characters.get strong, coalesced', (i) => db.characters.get(pick(i), { consistency: 'strong' })],
        ['characters.get strong, coalesced by 64', (i) => sixtyFours.characters.get(pick(i), { consistency: 'strong' })],
        ['characters.load strong', (i) => db.characters.load(pick(i), { consistency: 'strong' })],
        ['characters.spawn strong', (i) => db.characters.spawn(pick(i), { consistency: 'strong' })],
      ];
      for (const [, op] of reads) await rate(op, 300); // warm-up: pools, prepared statements, caches
      const rates = await rounds(reads);
      const base = rates.get('raw execute, same SELECT')!;
      say(`\nReads by id, ${IN_FLIGHT} in flight, pools of 10, ${ROUNDS} rounds of ${ROUND_MS} ms (q/s medians):`);
      for (const [name] of reads) say(`  ${name.padEnd(40)} ${median(rates.get(name)!).toFixed(0).padStart(7)} q/s`);
      say('Ratios (per round, against raw execute of the same SELECT):');
      const against = (name: string) => rates.get(name)!.map((r, k) => r / base[k]!);
      report(SUITE, 'characters.get strong, one statement each / raw execute', against('characters.get strong, one statement each'), 'x', {
        op: '>=',
        value: 0.95,
      });
      report(SUITE, 'characters.get strong, coalesced / raw execute', against('characters.get strong, coalesced'), 'x', {
        op: '>=',
        value: 1.5,
      });
      report(
        SUITE,
        'characters.get strong, coalesced by 64 (maxBatch) / raw execute',
        against('characters.get strong, coalesced by 64'),
        'x',
      );
      report(SUITE, 'Kysely / raw execute (same SELECT)', against('Kysely, same SELECT'), 'x');
      report(SUITE, 'raw query (text protocol) / raw execute', against('raw query, same SELECT'), 'x');
      report(SUITE, 'raw execute of 2 columns / raw execute (same SELECT)', against('raw execute, 2 columns'), 'x');
      const get = rates.get('characters.get strong, one statement each')!;
      report(
        SUITE,
        'characters.load time per call / characters.get',
        rates.get('characters.load strong')!.map((l, k) => get[k]! / l),
        'x',
        { op: '<=', value: 2 },
      );
      report(
        SUITE,
        'characters.spawn time per call / characters.get',
        rates.get('characters.spawn strong')!.map((l, k) => get[k]! / l),
        'x',
        { op: '<=', value: 2 },
      );

      // getMany of 16 ids per call: characters per second against raw execute's rows per second.
      const many: Op = (i) =>
        db.characters.getMany(
          Array.from({ length: 16 }, (_, k) => pick(i * 16 + k)),
          { consistency: 'strong' },
        );
      const manyRates: number[] = [];
      const rawRates: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const pair = [() => rate(reads[0]![1]), async () => 16 * (await rate(many))];
        for (let k = 0; k < 2; k++) {
          const which = (k + r) % 2;
          (which === 0 ? rawRates : manyRates).push(await pair[which]!());
        }
      }
      say(`  getMany of 16 ids: ${median(manyRates).toFixed(0)} characters/s`);
      report(
        SUITE,
        'characters.getMany(16 ids) characters/s / raw execute q/s',
        manyRates.map((m, k) => m / rawRates[k]!),
        'x',
      );

      // CPU per call in this process (user + system), interleaved rounds like the rates.
      // Also mysql2's callback API: its promise API (the baseline) captures a stack trace per call,
      // which the library's connection skips; this row shows how much of the ratio that is.
      const callbackPool = createCallbackPool({ host, port, user: 'root', database: 'mxo_shard', connectionLimit: 10 });
      const callbackRaw: [string, Op] = [
        'raw execute, callback API',
        (i) =>
          new Promise((resolve, reject) =>
            callbackPool.execute(librarySql, [pick(i)], (error, rows) => (error ? reject(error) : resolve(rows))),
          ),
      ];
      const cpuOps: Array<[string, Op]> = [reads[0]!, reads[4]!, reads[5]!, callbackRaw];
      const cpu = new Map<string, number[]>(cpuOps.map(([name]) => [name, []]));
      for (let r = 0; r < ROUNDS; r++) {
        for (let k = 0; k < cpuOps.length; k++) {
          const [name, op] = cpuOps[(k + r) % cpuOps.length]!;
          cpu.get(name)!.push(await cpuPerCall(op));
        }
      }
      const cpuOf = (name: string) => cpu.get(name)!;
      say(
        `  CPU per call in this process (medians): raw execute ${median(cpuOf(reads[0]![0])).toFixed(1)} us, get one statement each ${median(
          cpuOf(reads[4]![0]),
        ).toFixed(
          1,
        )} us, get coalesced ${median(cpuOf(reads[5]![0])).toFixed(1)} us, raw execute (callback API) ${median(cpuOf(callbackRaw[0])).toFixed(1)} us`,
      );
      const cpuAgainst = (name: string) => cpuOf(name).map((c, k) => c / cpuOf(reads[0]![0])[k]!);
      report(SUITE, 'CPU per call: get one statement each / raw execute', cpuAgainst(reads[4]![0]), 'x', { op: '<=', value: 1.05 });
      report(SUITE, 'CPU per call: get coalesced / raw execute', cpuAgainst(reads[5]![0]), 'x');
      report(
        SUITE,
        'CPU per call: get one statement each / raw execute, callback API',
        cpuOf(reads[4]![0]).map((c, k) => c / cpuOf(callbackRaw[0])[k]!),
        'x',
      );
      await new Promise<void>((resolve) => callbackPool.end(() => resolve()));

      const naive: Op = (i) =>
        raw.execute('UPDATE characters SET position_x = ?, position_y = ?, position_z = ? WHERE character_id = ?', [
          i % 1000,
          0,
          i % 777,
          pick(i),
        ]);
      const buffered = (i: number) => db.world.updatePosition(pick(i), { x: i % 1000, y: 0, z: i % 777 });
      const naiveRates: number[] = [];
      const bufferedRates: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        naiveRates.push(await rate(naive));
        bufferedRates.push(await rate(buffered, ROUND_MS, () => db.world.flush()));
      }
      say(
        `\nPositions: updatePosition ${median(bufferedRates).toFixed(0)} moves/s (flushed), one UPDATE per move ${median(naiveRates).toFixed(0)}/s`,
      );
      report(
        SUITE,
        'world.updatePosition moves/s / one UPDATE per move',
        bufferedRates.map((b, k) => b / naiveRates[k]!),
        'x',
        { op: '>=', value: 20 },
      );

      // CPU per accepted call, in the caller's process: a burst of calls, then the flush.
      const cpuRuns: number[] = [];
      for (let r = 0; r < 3; r++) {
        const burst = 20_000;
        const before = process.cpuUsage();
        for (let i = 0; i < burst; i++) await buffered(i);
        const cpu = process.cpuUsage(before);
        cpuRuns.push((cpu.user + cpu.system) / burst);
        await db.world.flush();
      }
      report(SUITE, 'world.updatePosition CPU per accepted call', cpuRuns, ' us', { op: '<=', value: 5 });
    } finally {
      await raw.end();
      await kysely.destroy();
    }
  });
}

/** Every op once per round, the order rotating each round; q/s per op per round. */
async function rounds(ops: Array<[string, Op]>): Promise<Map<string, number[]>> {
  const rates = new Map<string, number[]>(ops.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < ops.length; k++) {
      const [name, op] = ops[(k + r) % ops.length]!;
      rates.get(name)!.push(await rate(op));
    }
  }
  return rates;
}

/** Process CPU (user + system) per call over a fixed number of calls, IN_FLIGHT at a time. */
async function cpuPerCall(op: Op, calls = 8_000): Promise<number> {
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

/** Operations per second over one round with IN_FLIGHT loops (`after` is inside the timing). */
async function rate(op: Op, ms = ROUND_MS, after?: () => Promise<unknown>): Promise<number> {
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
