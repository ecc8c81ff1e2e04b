/**
 * Trades: what a cross-shard trade (XA two-phase commit, last-agent) costs against a same-shard
 * trade (one local transaction), in one run on one sandbox (2 shards, no replicas, plus global).
 * Goals (issue 13): cross-shard p50 at most 1.5x same-shard p50 (Vitess publishes 2.19x for a
 * two-shard commit); same-shard p50 at most 1.3x a raw local transaction doing the same statements.
 *
 * Latency (sequential, one trade at a time; the kinds interleaved in blocks so drift on a shared
 * machine hits all alike; every trade moves 1 money each way, so both sides write history):
 * - raw local:  mysql2 on the alpha primary, no library: BEGIN, 2x SELECT ... FOR UPDATE,
 *               2x UPDATE, COMMIT (the floor of a same-shard trade's locking and writes).
 * - raw XA:     mysql2 on both primaries, no library: the same rows in the last-agent shape
 *               (XA START/lock/update/END/PREPARE on alpha, BEGIN/lock/update/decision/COMMIT on
 *               beta, XA COMMIT on alpha): the floor of a cross-shard trade.
 * - raw local, the library's statements: BEGIN, one locking SELECT of both rows, INSERT
 *               trade_sessions, one UPDATE of both balances, one INSERT of both ledger rows,
 *               COMMIT (exactly what a same-shard trade sends): the baseline of the 1.3x goal.
 * - raw XA, the library's statements: the cross-shard trade's statements in its shape (both
 *               shards' work at once from their NOWAIT locks on, the XA branch prepared and the
 *               decision record inserted as each side finishes, COMMIT, XA COMMIT): its floor.
 * - same-shard: db.trades.execute between two alpha characters.
 * - cross-shard: db.trades.execute between an alpha and a beta character.
 * Throughput: WORKERS concurrent loops on disjoint pairs, SECONDS each kind, TP_ROUNDS rounds with
 * the order alternating; the ratio is the median of the rounds'. Then the statements each kind
 * sends to each primary (the servers' `Questions` counter over sequential trades).
 * Phases: mxo_twopc_phase_duration_seconds (work / prepare / decide / commit / total) means.
 * A trade prepares its XA branch inside its work (tx.prepare, overlapping the other shard's
 * writes), so 'prepare' is near zero for trades and 'work' includes it; 'decide' is the commit
 * record INSERT + COMMIT on the decision shard; 'commit' is XA COMMIT of the prepared branch.
 *
 * Critical path of a cross-shard trade (round trips): XA START || BEGIN, then alpha [lock A NOWAIT,
 * trade_sessions, UPDATE, history, XA END, XA PREPARE] || beta [lock B NOWAIT, trade_sessions,
 * UPDATE, history, commit record], then COMMIT, XA COMMIT: 9 with three durable flushes in a row
 * (XA PREPARE, COMMIT, XA COMMIT), against 6 with one flush for a same-shard trade (BEGIN, lock
 * both, trade_sessions, UPDATE, history, COMMIT). A held row runs the trade again in the lock order.
 */
import type mysql from 'mysql2/promise';
import { questions, withBenchCluster } from './bench-cluster.js';
import { report, say } from './report.js';
import { fmt, summarize } from './stats.js';

const N = Number(process.env.MXO_BENCH_TRADES ?? 1200);
const BLOCK = 100;
const WARMUP = 150;
const WORKERS = Number(process.env.MXO_BENCH_WORKERS ?? 4);
const SECONDS = Number(process.env.MXO_BENCH_SECONDS ?? 4);
const PAIRS = 8;
const TP_ROUNDS = Number(process.env.MXO_BENCH_TP_ROUNDS ?? 3);
const SUITE = 'trades';

type Stats = ReturnType<typeof summarize>;

export async function run(): Promise<void> {
  await withBenchCluster({ shards: 2, replicasPerShard: 0 }, { pool: { max: 16 } }, async ({ db: cluster, connect }) => {
    const { accountId } = await cluster.accounts.register({
      username: 'benchtrades',
      email: 'bench@trades.test',
      password: 'bench-password-1',
    });
    const make = async (name: string, districtId: number) => {
      const ch = await cluster.characters.create({ accountId, name, archetype: 'hacker', gender: 'female', appearance: {}, districtId });
      await cluster.characters.adjustMoney(ch.characterId, 1_000_000, 'admin_grant');
      return ch.characterId;
    };
    // PAIRS disjoint pairs of each kind (workers never contend on a row); pair 0 for latency.
    const alphaA: number[] = [];
    const alphaB: number[] = [];
    const beta: number[] = [];
    const rawIds: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      alphaA.push(await make(`SameA${i}`, 1));
      alphaB.push(await make(`SameB${i}`, 2));
      beta.push(await make(`Cross${i}`, 4));
    }
    const crossA: number[] = [];
    for (let i = 0; i < PAIRS; i++) crossA.push(await make(`CrossA${i}`, 3));
    for (let i = 0; i < 2; i++) rawIds.push(await make(`Raw${i}`, 1));
    const rawBeta = await make('RawBeta', 5);

    const trade = (a: number, b: number) =>
      cluster.trades.execute({ initiator: { characterId: a, money: 1 }, recipient: { characterId: b, money: 1 } });
    const same = (p = 0) => trade(alphaA[p]!, alphaB[p]!);
    const cross = (p = 0) => trade(crossA[p]!, beta[p]!);

    const rawAlpha = await connect('alpha-primary');
    const rawAlpha2 = await connect('alpha-primary');
    const rawBetaConn = await connect('beta-primary');
    await rawBetaConn.query('CREATE TABLE IF NOT EXISTS bench_decisions (gtrid VARCHAR(64) PRIMARY KEY)');
    const [r0, r1] = rawIds as [number, number];
    const rawLocal = async () => {
      await rawAlpha.query('BEGIN');
      await rawAlpha.execute('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [r0]);
      await rawAlpha.execute('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [r1]);
      await rawAlpha.execute('UPDATE characters SET money = money - 1 WHERE character_id = ?', [r0]);
      await rawAlpha.execute('UPDATE characters SET money = money + 1 WHERE character_id = ?', [r1]);
      await rawAlpha.query('COMMIT');
    };
    let xaSeq = 0;
    const rawXa = async () => {
      const gtrid = `bench-${process.pid}-${xaSeq++}`;
      const xid = `'${gtrid}','alpha'`;
      await rawAlpha2.query(`XA START ${xid}`);
      await rawAlpha2.execute('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [r0]);
      await rawBetaConn.query('BEGIN');
      await rawBetaConn.execute('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [rawBeta]);
      await rawAlpha2.execute('UPDATE characters SET money = money - 1 WHERE character_id = ?', [r0]);
      await rawBetaConn.execute('UPDATE characters SET money = money + 1 WHERE character_id = ?', [rawBeta]);
      await rawAlpha2.query(`XA END ${xid}`);
      await rawAlpha2.query(`XA PREPARE ${xid}`);
      await rawBetaConn.execute('INSERT INTO bench_decisions (gtrid) VALUES (?)', [gtrid]);
      await rawBetaConn.query('COMMIT');
      await rawAlpha2.query(`XA COMMIT ${xid}`);
    };

    // The library's own statements for the same trade (1 money each way), by hand on mysql2:
    // what a same-shard trade and a cross-shard trade would cost with no library at all.
    const [s0, s1] = [rawIds[0]!, rawIds[1]!];
    let rawTradeId = 2_000_000_000;
    // Bound, not inlined: a statement text per trade would be a prepared statement per trade.
    const ledger = (from: number, to: number, tradeId: number, reason: string) => [from, to, reason, tradeId] as const;
    const sessionSql = `INSERT INTO trade_sessions (trade_id, initiator_id, recipient_id, initiator_items, recipient_items, initiator_money,
       recipient_money, trade_status, initiator_confirmed, recipient_confirmed, completed_date, district_id, idempotency_key, xa_gtrid)
     VALUES (?, ?, ?, '[]', '[]', 1, 1, 'completed', TRUE, TRUE, NOW(), 1, NULL, ?)`;
    const historySql = (rows: Array<ReturnType<typeof ledger>>): [string, Array<string | number>] => [
      `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount, items_transferred,
       transaction_reason, related_trade_id, district_id) VALUES ${rows.map(() => "(?, ?, 'trade', 1, '[]', ?, ?, 1)").join(', ')}`,
      rows.flat(),
    ];
    const rawLocalTrade = (conn: mysql.Connection, a: number, b: number) => async () => {
      const tradeId = rawTradeId++;
      await conn.query('BEGIN');
      const [rows] = (await conn.execute(
        'SELECT character_id, money FROM characters WHERE character_id IN (?, ?) ORDER BY character_id FOR UPDATE',
        [a, b],
      )) as unknown as [Array<{ money: number }>];
      await conn.execute(sessionSql, [tradeId, a, b, null]);
      await conn.execute('UPDATE characters SET money = CASE character_id WHEN ? THEN ? ELSE ? END WHERE character_id IN (?, ?)', [
        a,
        Number(rows[0]!.money),
        Number(rows[1]!.money),
        a,
        b,
      ]);
      await conn.execute(...historySql([ledger(a, b, tradeId, 'trade'), ledger(b, a, tradeId, 'trade')]));
      await conn.query('COMMIT');
    };
    const rawLocalSame = rawLocalTrade(rawAlpha, s0, s1);
    // One shard's part of a cross-shard trade between `a` (alpha) and `b` (beta), as the library
    // sends it: its party's row locked NOWAIT, the trade_sessions row, the balance, both ledger rows.
    const crossShardWork = async (conn: mysql.Connection, me: number, a: number, b: number, tradeId: number, gtrid: string) => {
      const [[row]] = (await conn.execute('SELECT money, district_id FROM characters WHERE character_id = ? FOR UPDATE NOWAIT', [
        me,
      ])) as unknown as [Array<{ money: number }>];
      await conn.execute(sessionSql, [tradeId, a, b, gtrid]);
      await conn.execute('UPDATE characters SET money = ? WHERE character_id = ?', [Number(row!.money), me]);
      await conn.execute(...historySql([ledger(a, b, tradeId, 'cross-shard trade'), ledger(b, a, tradeId, 'cross-shard trade')]));
    };
    const rawXaTrade = (alphaConn: mysql.Connection, betaConn: mysql.Connection, r0: number, rawBeta: number) => async () => {
      const tradeId = rawTradeId++;
      const gtrid = `bench-${process.pid}-${xaSeq++}`;
      const xid = `'${gtrid}','alpha'`;
      await Promise.all([alphaConn.query(`XA START ${xid}`), betaConn.query('BEGIN')]);
      const alphaSide = (async () => {
        await crossShardWork(alphaConn, r0, r0, rawBeta, tradeId, gtrid);
        await alphaConn.query(`XA END ${xid}`);
        await alphaConn.query(`XA PREPARE ${xid}`);
      })();
      const betaSide = (async () => {
        await crossShardWork(betaConn, rawBeta, r0, rawBeta, tradeId, gtrid);
        await betaConn.execute('INSERT INTO bench_decisions (gtrid) VALUES (?)', [gtrid]);
      })();
      await Promise.all([alphaSide, betaSide]);
      await betaConn.query('COMMIT');
      await alphaConn.query(`XA COMMIT ${xid}`);
    };

    const rawXaSame = rawXaTrade(rawAlpha2, rawBetaConn, r0, rawBeta);

    // The floor of any commit protocol over MariaDB XA that answers after its commits: both
    // shards as XA branches doing the library's statements at once, prepared at once (the
    // decision implicit in "every branch prepared", no decision record), then committed at once:
    // two durable flushes in a row instead of three. Not something the library does (its
    // recovery needs the decision record); it shows what removing that flush could buy.
    const rawBeta2 = await connect('beta-primary');
    const rawXaTwoFlushes = async () => {
      const tradeId = rawTradeId++;
      const gtrid = `bench-${process.pid}-${xaSeq++}`;
      const side = async (conn: mysql.Connection, bqual: string, me: number) => {
        const xid = `'${gtrid}','${bqual}'`;
        await conn.query(`XA START ${xid}`);
        await crossShardWork(conn, me, r0, rawBeta, tradeId, gtrid);
        await conn.query(`XA END ${xid}`);
        await conn.query(`XA PREPARE ${xid}`);
        return () => conn.query(`XA COMMIT ${xid}`);
      };
      const commits = await Promise.all([side(rawAlpha2, 'alpha', r0), side(rawBeta2, 'beta', rawBeta)]);
      await Promise.all(commits.map((commit) => commit()));
    };

    // Warm-up: pools, prepared statements, id blocks, directory cache, buffer pool.
    for (let i = 0; i < WARMUP; i++) {
      await rawLocal();
      await rawXa();
      await rawLocalSame();
      await rawXaSame();
      await rawXaTwoFlushes();
      await same();
      await cross();
    }
    await cluster.metrics.resetMetrics();

    const kinds: Array<[string, () => Promise<unknown>]> = [
      ['raw local (BEGIN, 2 locks, 2 updates, COMMIT)', rawLocal],
      ['raw XA last-agent (2 servers)', rawXa],
      ["raw local, the library's statements", rawLocalSame],
      ["raw XA, the library's statements", rawXaSame],
      ['raw XA, two flushes in a row (no decision record)', rawXaTwoFlushes],
      ['same-shard trade', () => same()],
      ['cross-shard trade', () => cross()],
    ];
    const samples = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
    for (let done = 0; done < N; done += BLOCK) {
      for (const [kind, fn] of kinds) {
        const out = samples.get(kind)!;
        for (let i = 0; i < BLOCK; i++) {
          const t0 = performance.now();
          await fn();
          out.push(performance.now() - t0);
        }
      }
    }
    const stats = new Map<string, Stats>([...samples].map(([k, v]) => [k, summarize(v)]));

    console.log(`\nSequential latency (${N} each, interleaved in blocks of ${BLOCK}):`);
    console.log(`  ${'kind'.padEnd(48)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'mean'.padStart(9)}`);
    for (const [kind, s] of stats) {
      console.log(`  ${kind.padEnd(48)} ${fmt(s.p50).padStart(9)} ${fmt(s.p99).padStart(9)} ${fmt(s.mean).padStart(9)}`);
    }

    // Where a cross-shard trade's time goes (means over the sequential cross-shard run).
    const phases = (await cluster.metrics.getMetricsAsJSON()).find((m) => m.name === 'mxo_twopc_phase_duration_seconds');
    const phaseMeans: string[] = [];
    for (const phase of ['work', 'prepare', 'decide', 'commit', 'total']) {
      const values = phases?.values.filter((v) => v.labels.operation === 'trade' && v.labels.phase === phase) ?? [];
      const sum = values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
      const count = values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
      if (count > 0) phaseMeans.push(`${phase} ${fmt((Number(sum) / Number(count)) * 1000)}`);
    }
    console.log(`  cross-shard phases (mean): ${phaseMeans.join(', ')}`);

    // Throughput with WORKERS concurrent loops on disjoint pairs.
    const throughput = async (fn: (p: number) => Promise<unknown>) => {
      let count = 0;
      const lat: number[] = [];
      const until = performance.now() + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, w) => {
          while (performance.now() < until) {
            const t0 = performance.now();
            await fn(w % PAIRS);
            lat.push(performance.now() - t0);
            count++;
          }
        }),
      );
      return { perSecond: count / SECONDS, ...summarize(lat) };
    };
    // The same statements by hand (no library) on the same pairs, a connection per worker and shard:
    // what the servers give either kind of trade at this concurrency.
    const rawWorkers = await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        const p = w % PAIRS;
        const [local, xaAlpha, xaBeta] = await Promise.all([connect('alpha-primary'), connect('alpha-primary'), connect('beta-primary')]);
        return { same: rawLocalTrade(local, alphaA[p]!, alphaB[p]!), cross: rawXaTrade(xaAlpha, xaBeta, crossA[p]!, beta[p]!) };
      }),
    );
    // throughput() gives loop w the pair w % PAIRS: with WORKERS <= PAIRS, each loop its own connections.
    if (WORKERS > PAIRS) throw new Error(`MXO_BENCH_WORKERS at most ${PAIRS}`);
    const rawThroughput = (kind: 'same' | 'cross') => throughput((p) => rawWorkers[p]![kind]());
    // Rounds of every kind, the order rotating, so the machine's drift hits all alike.
    const tpRatios: number[] = [];
    const rawTpRatios: number[] = [];
    console.log(`\nThroughput, ${WORKERS} concurrent workers, ${SECONDS} s each, ${TP_ROUNDS} rounds:`);
    const tpKinds = ['same', 'cross', 'raw-same', 'raw-cross'] as const;
    for (let r = 0; r < TP_ROUNDS; r++) {
      const got: Record<string, Awaited<ReturnType<typeof throughput>>> = {};
      for (let k = 0; k < tpKinds.length; k++) {
        const kind = tpKinds[(k + r) % tpKinds.length]!;
        got[kind] = await (kind === 'same'
          ? throughput((p) => same(p))
          : kind === 'cross'
            ? throughput((p) => cross(p))
            : rawThroughput(kind === 'raw-same' ? 'same' : 'cross'));
      }
      const [tSame, tCross] = [got.same!, got.cross!];
      tpRatios.push(tCross.perSecond / tSame.perSecond);
      rawTpRatios.push(got['raw-cross']!.perSecond / got['raw-same']!.perSecond);
      console.log(
        `  round ${r + 1}: same-shard ${tSame.perSecond.toFixed(0)} trades/s (p50 ${fmt(tSame.p50)}, p99 ${fmt(tSame.p99)}), ` +
          `cross-shard ${tCross.perSecond.toFixed(0)} trades/s (p50 ${fmt(tCross.p50)}, p99 ${fmt(tCross.p99)}); ` +
          `raw local ${got['raw-same']!.perSecond.toFixed(0)}/s, raw XA ${got['raw-cross']!.perSecond.toFixed(0)}/s`,
      );
    }

    // Statements each kind sends to each primary (the servers' own count), over sequential trades.
    const statementsPer = async (fn: () => Promise<unknown>, n = 200) => {
      const before = await questions({ alpha: rawAlpha, beta: rawBetaConn });
      for (let i = 0; i < n; i++) await fn();
      const after = await questions({ alpha: rawAlpha, beta: rawBetaConn });
      // Minus the SHOW STATUS statement itself on each node.
      return Object.fromEntries(Object.keys(before).map((k) => [k, ((after[k]! - before[k]! - 1) / n).toFixed(2)]));
    };
    console.log(
      `  statements per trade on each primary: same-shard ${JSON.stringify(await statementsPer(() => same()))}, ` +
        `cross-shard ${JSON.stringify(await statementsPer(() => cross()))}`,
    );

    const p50 = (k: string) => stats.get(k)!.p50;
    // Each block of BLOCK trades gives one ratio of p50s: the spread across blocks.
    const blockRatio = (a: string, b: string) => {
      const ratios: number[] = [];
      for (let k = 0; k < N; k += BLOCK)
        ratios.push(summarize(samples.get(a)!.slice(k, k + BLOCK)).p50 / summarize(samples.get(b)!.slice(k, k + BLOCK)).p50);
      return ratios;
    };
    const RAW_LOCAL = 'raw local (BEGIN, 2 locks, 2 updates, COMMIT)';
    say('\nRatios of p50 latency (median over blocks of ' + BLOCK + '; each block interleaved with the others):');
    report(SUITE, 'cross-shard trade / same-shard trade', blockRatio('cross-shard trade', 'same-shard trade'), 'x', {
      op: '<=',
      value: 1.5,
    });
    report(
      SUITE,
      "same-shard trade / raw local, the library's statements",
      blockRatio('same-shard trade', "raw local, the library's statements"),
      'x',
      {
        op: '<=',
        value: 1.3,
      },
    );
    report(
      SUITE,
      "cross-shard trade / raw XA, the library's statements",
      blockRatio('cross-shard trade', "raw XA, the library's statements"),
      'x',
    );
    report(
      SUITE,
      "raw XA / raw local, the library's statements (the floor)",
      blockRatio("raw XA, the library's statements", "raw local, the library's statements"),
      'x',
    );
    report(
      SUITE,
      "raw XA with two flushes in a row / raw local, the library's statements (any XA protocol's floor)",
      blockRatio('raw XA, two flushes in a row (no decision record)', "raw local, the library's statements"),
      'x',
    );
    report(SUITE, 'same-shard trade / raw local (2 locks, 2 updates only)', blockRatio('same-shard trade', RAW_LOCAL), 'x');
    say(`  (p50s: same ${fmt(p50('same-shard trade'))}, cross ${fmt(p50('cross-shard trade'))}, raw local ${fmt(p50(RAW_LOCAL))})`);
    report(SUITE, `cross-shard / same-shard throughput, ${WORKERS} workers`, tpRatios, 'x', { op: '>=', value: 0.6 });
    report(SUITE, `raw XA / raw local throughput, the library's statements, ${WORKERS} workers (the floor)`, rawTpRatios, 'x');
  });
}
