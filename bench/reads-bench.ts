/**
 * Replica reads: what `session` consistency costs against `strong`, and how much read load
 * `eventual` moves off the primary. One sandbox (1 shard: primary + 1 replica, plus global), one
 * run; the kinds compared are interleaved in one loop, so drift on a shared machine hits all alike.
 *
 * Latency (characters.get of one of 20 characters; each "after a write" read follows an
 * adjustMoney of the same character through the same session, the write itself not timed):
 * - raw:      mysql2 `execute()` point select on the shard primary, no library: the floor.
 * - strong:   consistency 'strong', after a write.
 * - session:  consistency 'session', after a write made by this session in this process. No
 *             replica can have it yet, so the router reads the primary without waiting.
 * - session via token: a session continued from the writer's token (as another process would),
 *             after a write: MASTER_GTID_WAIT on the replica, then the read there.
 * - session, no write in between: the replica is known to have the session's position: no wait.
 * - eventual: reads only.
 * Every session read is checked against the value just written (stale count).
 *
 * Offload: Com_select deltas on the primary and the replica (SHOW GLOBAL STATUS) over N reads of
 * each consistency; the share of SELECTs the replica served.
 */
import type mysql from 'mysql2/promise';
import type { Consistency, DataSession } from '../src/index.js';
import { withBenchCluster } from './bench-cluster.js';
import { fmt, summarize } from './stats.js';

const CHARACTERS = 20;
const N = Number(process.env.MXO_BENCH_READS ?? 1500);
const WARMUP = 200;

type Stats = ReturnType<typeof summarize>;

export async function run(): Promise<void> {
  await withBenchCluster({ shards: 1, replicasPerShard: 1 }, {}, async ({ db: cluster, connect }) => {
    const primary = await connect('alpha-primary');
    const replica = await connect('alpha-replica-1');
    const raw = await connect('alpha-primary');

    const { accountId } = await cluster.accounts.register({ username: 'benchreads', email: 'bench@reads.test', password: 'bench-password-1' });
    const ids: number[] = [];
    for (let i = 0; i < CHARACTERS; i++) {
      const ch = await cluster.characters.create({ accountId, name: `Reader${i}`, archetype: 'hacker', gender: 'female', appearance: {}, districtId: 1 });
      ids.push(ch.characterId);
    }
    const pick = (i: number) => ids[i % ids.length]!;
    const writer = cluster.session();
    const rawRead = (i: number) => raw.execute('SELECT money FROM characters WHERE character_id = ?', [pick(i)]);
    const read = (s: DataSession, i: number, consistency: Consistency) => s.characters.get(pick(i), { consistency });
    const write = async (i: number) => (await writer.characters.adjustMoney(pick(i), 1, 'quest_reward')).money;

    const counter = async (name: string) => {
      const lines = (await cluster.metrics.getSingleMetricAsString(name)).split('\n');
      return (filter: (line: string) => boolean) =>
        lines.filter((l) => !l.startsWith('#') && filter(l)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
    };
    const comSelect = async (conn: mysql.Connection) => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Com_select'");
      return Number(rows[0]?.Value);
    };
    /** Com_select on each server around `fn` (SHOW is not a SELECT; the lag monitor adds a few). */
    const selects = async (fn: () => Promise<unknown>) => {
      const before = [await comSelect(primary), await comSelect(replica)] as const;
      await fn();
      return { primary: (await comSelect(primary)) - before[0], replica: (await comSelect(replica)) - before[1] };
    };

    // Warm every pool and the directory cache.
    for (let i = 0; i < WARMUP; i++) {
      await write(i);
      await rawRead(i);
      for (const c of ['strong', 'session', 'eventual'] as const) await read(writer, i, c);
      await read(cluster.session(writer.token()), i, 'session');
    }

    // 1. After a write, interleaved.
    const kinds = ['strong', 'session', 'token'] as const;
    const afterWrite: Record<(typeof kinds)[number], number[]> = { strong: [], session: [], token: [] };
    let stale = 0;
    const waitsBefore = (await counter('mxo_replica_gtid_wait_seconds'))((l) => l.startsWith('mxo_replica_gtid_wait_seconds_count'));
    const waitSumBefore = (await counter('mxo_replica_gtid_wait_seconds'))((l) => l.startsWith('mxo_replica_gtid_wait_seconds_sum'));
    const readsBefore = await counter('mxo_reads_total');
    for (let i = 0; i < N; i++) {
      for (const kind of kinds) {
        const expected = await write(i);
        const session = kind === 'token' ? cluster.session(writer.token()) : writer;
        const t = performance.now();
        const ch = await read(session, i, kind === 'strong' ? 'strong' : 'session');
        afterWrite[kind].push(performance.now() - t);
        if (kind !== 'strong' && ch.money !== expected) stale++;
      }
    }
    const readsAfter = await counter('mxo_reads_total');
    const served = (role: string) =>
      readsAfter((l) => l.includes(`role="${role}"`) && l.includes('consistency="session"')) -
      readsBefore((l) => l.includes(`role="${role}"`) && l.includes('consistency="session"'));
    const waits = (await counter('mxo_replica_gtid_wait_seconds'))((l) => l.startsWith('mxo_replica_gtid_wait_seconds_count')) - waitsBefore;
    const waitSum = (await counter('mxo_replica_gtid_wait_seconds'))((l) => l.startsWith('mxo_replica_gtid_wait_seconds_sum')) - waitSumBefore;

    // 2. No writes, interleaved.
    const noWrite: Record<'raw' | 'strong' | 'session' | 'eventual', number[]> = { raw: [], strong: [], session: [], eventual: [] };
    for (let i = 0; i < N; i++) {
      for (const kind of ['raw', 'strong', 'session', 'eventual'] as const) {
        const t = performance.now();
        if (kind === 'raw') await rawRead(i);
        else await read(writer, i, kind);
        noWrite[kind].push(performance.now() - t);
      }
    }

    // 3. Offload: where the SELECTs of N reads of each kind ran.
    const offload = {
      strong: await selects(async () => { for (let i = 0; i < N; i++) await read(writer, i, 'strong'); }),
      session: await selects(async () => { for (let i = 0; i < N; i++) await read(writer, i, 'session'); }),
      eventual: await selects(async () => { for (let i = 0; i < N; i++) await read(writer, i, 'eventual'); }),
    };

    const s = {
      raw: summarize(noWrite.raw),
      strongW: summarize(afterWrite.strong),
      sessionW: summarize(afterWrite.session),
      tokenW: summarize(afterWrite.token),
      strong: summarize(noWrite.strong),
      session: summarize(noWrite.session),
      eventual: summarize(noWrite.eventual),
    };
    const line = (name: string, st: Stats, base?: Stats) =>
      console.log(
        `  ${name.padEnd(44)} p50 ${fmt(st.p50).padStart(8)}  p99 ${fmt(st.p99).padStart(8)}` +
          (base ? `  (p50 x${(st.p50 / base.p50).toFixed(2)} of strong)` : ''),
      );
    const share = (o: { primary: number; replica: number }) =>
      `${((100 * o.replica) / Math.max(1, o.primary + o.replica)).toFixed(1).padStart(5)}% of SELECTs on the replica (primary +${o.primary}, replica +${o.replica})`;
    console.log(`reads: 1 shard (primary + 1 replica), ${CHARACTERS} characters, n=${N} per kind, sequential, interleaved`);
    line('raw mysql2 execute, primary', s.raw);
    console.log('  right after a write (adjustMoney, not timed):');
    line('  strong', s.strongW);
    line('  session (this session wrote it)', s.sessionW, s.strongW);
    line('  session continued from a token (GTID wait)', s.tokenW, s.strongW);
    console.log('  no write in between:');
    line('  strong', s.strong);
    line('  session', s.session, s.strong);
    line('  eventual', s.eventual, s.strong);
    const ratio = s.sessionW.p50 / s.strongW.p50;
    console.log(`  GOAL session p50 / strong p50 after a write = ${ratio.toFixed(2)} (<= 1.3: ${ratio <= 1.3 ? 'met' : 'NOT met'})`);
    console.log(
      `  session reads after a write: ${served('replica')} on the replica, ${served('primary')} on the primary; ` +
        `GTID waits ${waits} (mean ${fmt((1000 * waitSum) / Math.max(1, waits))}); stale ${stale} of ${2 * N}`,
    );
    console.log(`  strong   reads: ${share(offload.strong)}`);
    console.log(`  session  reads: ${share(offload.session)}`);
    console.log(`  eventual reads: ${share(offload.eventual)}  <- read load moved off the primary`);
  });
}
