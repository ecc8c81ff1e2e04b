/**
 * The bank test: ~40 characters on two shards (each primary with one replica), money and items
 * granted; several workers run random trades (mostly cross-shard) for ~25 s while shard primaries
 * are killed -9 and restarted and the background recovery sweep runs with a short grace period.
 * Errors are allowed but must be typed. Afterwards, by direct SQL on every server: nothing is
 * prepared, total money is unchanged, every item is in exactly one inventory, no orphan rows,
 * every trade that reported success is on every shard it touched, no trade that reported a
 * definite failure committed (trade rows = successes + at most the unknown outcomes), replicas
 * equal primaries. The pass thresholds are about correctness; activity is only required to be
 * non-zero (some trades of each kind succeeded, the primaries were really killed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError, openCluster, OutcomeUnknownError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { compareReplica, readWorld, recoverUntilClean, rowsOn, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters, type SeededCharacter } from './support/twopc-world.js';

const DURATION_MS = Number(process.env.MXO_BANK_MS ?? 25_000);
const WORKERS = 6;
const GRACE_MS = 1_500;

describe('bank test: concurrent random trades while shard primaries are killed -9', () => {
  let tc: TestCluster;

  beforeAll(async () => {
    tc = await startTestCluster({
      shards: 2,
      replicasPerShard: 1,
      config: {
        // The sweep runs during the chaos too, racing live coordinators (the fence must hold).
        recovery: { intervalMs: 1_000, gracePeriodMs: GRACE_MS },
        pool: { max: 12, downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000, lockWaitTimeoutSec: 2 },
        twoPhase: { statementTimeoutMs: 4_000, deadlockRetries: 5 },
      },
    });
  });

  afterAll(async () => {
    await tc?.stop();
  });

  /** Distinct trade ids on record on any shard that involve these characters. */
  async function tradeIdsOf(ids: number[]): Promise<Set<number>> {
    const found = new Set<number>();
    for (const shard of ['alpha', 'beta']) {
      const rows = await rowsOn<{ trade_id: number }>(
        tc.sandbox,
        `${shard}-primary`,
        `SELECT trade_id FROM trade_sessions WHERE initiator_id IN (${ids.map(() => '?').join(',')})`,
        ids,
      );
      for (const r of rows) found.add(Number(r.trade_id));
    }
    return found;
  }

  it('conserves money and items, leaves nothing prepared, and replicas match', async () => {
    const { db, sandbox } = tc;
    const { characters } = await seedCharacters(db, {
      districts: [1, 4, 2, 5, 3, 6],
      count: 40,
      money: 1_000,
      itemsEach: 3,
      prefix: 'bank',
    });
    const ids = characters.map((c) => c.id);
    const start = await readWorld(sandbox, ids);
    expect(start.problems).toEqual([]);
    expect(start.totalMoney).toBe(40_000);
    expect(start.items.size).toBe(120);

    // Best-known owner of each item (updated on success; a stale guess just makes a typed abort).
    const owner = new Map(start.items);
    const byShard = (s: string) => characters.filter((c) => c.shard === s);
    const rand = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
    const itemsOf = (c: SeededCharacter) => [...owner].filter(([, o]) => o === c.id).map(([i]) => i);
    const pickItems = (c: SeededCharacter) =>
      itemsOf(c)
        .filter(() => Math.random() < 0.3)
        .slice(0, 2);

    const errors = new Map<string, number>();
    const untyped: string[] = [];
    const committed: Array<{ tradeId: number; shards: string[] }> = [];
    let crossOk = 0;
    let sameOk = 0;
    let unknown = 0; // OutcomeUnknownError: may or may not have committed
    const tradeRowsBefore = await tradeIdsOf(ids);
    const deadline = Date.now() + DURATION_MS;

    const worker = async () => {
      while (Date.now() < deadline) {
        const cross = Math.random() < 0.8;
        const a = rand(characters);
        const pool = cross ? byShard(a.shard === 'alpha' ? 'beta' : 'alpha') : byShard(a.shard).filter((c) => c.id !== a.id);
        const b = rand(pool);
        const give = pickItems(a);
        const take = pickItems(b);
        const input = {
          initiator: { characterId: a.id, money: Math.floor(Math.random() * 60), itemIds: give },
          recipient: { characterId: b.id, money: Math.random() < 0.5 ? Math.floor(Math.random() * 40) : 0, itemIds: take },
        };
        if (input.initiator.money === 0 && give.length === 0 && input.recipient.money === 0 && take.length === 0) input.initiator.money = 1;
        try {
          const r = await db.trades.execute(input);
          committed.push({ tradeId: r.tradeId, shards: [...new Set([a.shard, b.shard])] });
          if (r.crossShard) crossOk++;
          else sameOk++;
          for (const i of give) owner.set(i, b.id);
          for (const i of take) owner.set(i, a.id);
        } catch (error) {
          if (error instanceof OutcomeUnknownError) unknown++;
          const key = error instanceof MxoError ? error.code : `UNTYPED ${(error as Error)?.constructor?.name}`;
          errors.set(key, (errors.get(key) ?? 0) + 1);
          if (!(error instanceof MxoError)) untyped.push(String((error as Error)?.stack ?? error));
          // A dead shard fails fast: do not spin on it.
          if (error instanceof MxoError && error.code !== 'INSUFFICIENT_FUNDS' && error.code !== 'TRADE_ABORTED') {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    };

    const kills: string[] = [];
    const chaos = async () => {
      await new Promise((r) => setTimeout(r, 2_000));
      while (Date.now() < deadline - 4_000) {
        const node = rand(['alpha-primary', 'beta-primary']);
        await sandbox.kill(node);
        kills.push(node);
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
        await sandbox.restart(node);
        await new Promise((r) => setTimeout(r, 2_500 + Math.random() * 2_000));
      }
    };

    const started = Date.now();
    const took: Record<string, number> = {};
    const lap = (phase: string) => (took[phase] = Date.now() - started - Object.values(took).reduce((a, b) => a + b, 0));
    await Promise.all([chaos(), ...Array.from({ length: WORKERS }, worker)]);
    lap('chaos');

    const summary = { crossOk, sameOk, unknown, kills, errors: Object.fromEntries(errors) };
    console.log('bank test:', JSON.stringify(summary));
    expect(untyped, 'every error must be an MxoError').toEqual([]);
    expect(kills.length).toBeGreaterThanOrEqual(3);
    expect(crossOk).toBeGreaterThan(0);
    expect(sameOk).toBeGreaterThan(0);

    // Settle everything in doubt: past the grace period, recover until nothing is prepared.
    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    await recoverUntilClean(db, sandbox);
    expect(await xaRecoverAll(sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
    lap('recovery');

    const end = await readWorld(sandbox, ids);
    expect(end.problems).toEqual([]);
    expect(end.totalMoney).toBe(start.totalMoney);
    expect([...end.items.keys()].sort()).toEqual([...start.items.keys()].sort());
    expect([...end.money.values()].every((m) => m >= 0)).toBe(true);
    expect(new Set(end.shardOf.keys())).toEqual(new Set(ids));

    // Every trade that reported success is on every shard it touched (success means committed).
    for (const shard of ['alpha', 'beta']) {
      const rows = await rowsOn<{ trade_id: number }>(sandbox, `${shard}-primary`, 'SELECT trade_id FROM trade_sessions');
      const have = new Set(rows.map((r) => Number(r.trade_id)));
      const missing = committed.filter((t) => t.shards.includes(shard) && !have.has(t.tradeId)).map((t) => t.tradeId);
      expect(missing, `successful trades missing on ${shard}`).toEqual([]);
    }
    // No trade that reported a definite (typed) failure committed: after recovery, the trades on
    // record are the successes plus at most the calls whose outcome was reported unknown.
    const recorded = [...(await tradeIdsOf(ids))].filter((id) => !tradeRowsBefore.has(id));
    const succeeded = new Set(committed.map((c) => c.tradeId));
    const extra = recorded.filter((id) => !succeeded.has(id));
    expect(recorded.length).toBeGreaterThanOrEqual(succeeded.size);
    expect(extra.length, `trades on record that reported failure: ${extra.join(', ')}`).toBeLessThanOrEqual(unknown);
    // Replicas: same rows as their primaries once caught up. A replica that cannot catch up is
    // repaired only when the primary's binlog proves one of two known MariaDB 10.11 user-XA crash
    // defects (the library's runbook, db.repairReplicas(); see src/replica/xa-replica-repair.ts);
    // any other cause fails the test.
    // Repair is an administrator's job (STOP SLAVE, the binlog): it runs as root, not as mxo_app.
    const admin = await openCluster(tc.rootConfig);
    const repairs = await admin.repairReplicas().finally(() => admin.close());
    if (repairs.some((r) => r.repaired.length > 0))
      console.warn('replica repairs (MariaDB XA defects):', JSON.stringify(repairs.flatMap((r) => r.repaired)));
    expect(repairs.flatMap((r) => r.unexplained)).toEqual([]);
    lap('checks and replica repair');
    const replicaDiff = [...(await compareReplica(sandbox, 'alpha')), ...(await compareReplica(sandbox, 'beta'))];
    lap('replica comparison');
    // Where the time went (ms), for a run that comes close to the timeout.
    console.log('bank test phases:', JSON.stringify(took));
    if (replicaDiff.length > 0) console.log('sandbox dir:', sandbox.dir);
    expect(replicaDiff).toEqual([]);
  }, 240_000); // a hang guard: chaos and restarts on two shared cores (CI) took over 120 s once
});
