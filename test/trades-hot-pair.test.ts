/**
 * A hot pair across shards (issue 24): two characters, one on alpha and one on beta, trade with
 * each other from 8 concurrent workers in two processes' handles. A cross-shard trade first locks
 * both shards' rows at once with NOWAIT and, when the other side's row is taken, runs again in the
 * global lock order (src/twopc/coordinator.ts, `nowaitFirst`). What must hold: every trade
 * completes or fails typed for a reason of its own (an item already given away), none waits into
 * the lock wait timeout (ER_LOCK_WAIT_TIMEOUT, a wait cycle across servers that no server sees),
 * money and items are conserved (plain SQL), and nothing stays prepared.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError, openCluster, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { readWorld, rowsOn, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters } from './support/twopc-world.js';

const WORKERS = 8;
const TRADES_PER_WORKER = 25;

describe('a hot pair of characters on two shards', () => {
  let tc: TestCluster;
  /** A second handle: its own pools and caches, like another server process. */
  let other: Cluster;

  beforeAll(async () => {
    tc = await startTestCluster({
      shards: 2,
      replicasPerShard: 0,
      // A wait cycle across the two servers would end only here: 5 s, far above a trade.
      config: { pool: { max: 16, lockWaitTimeoutSec: 5 }, twoPhase: { statementTimeoutMs: 8_000 } },
    });
    other = await openCluster(tc.config);
  });

  afterAll(async () => {
    await other?.close();
    await tc?.stop();
  });

  /** Money and items of the two, by plain SQL on each shard's primary. */
  async function holdings(ids: number[]): Promise<{ money: number; items: number[] }> {
    let money = 0;
    const items: number[] = [];
    for (const node of ['alpha-primary', 'beta-primary']) {
      const marks = ids.map(() => '?').join(', ');
      const [m] = await rowsOn<RowDataPacket>(tc.sandbox, node, `SELECT COALESCE(SUM(money), 0) AS money FROM characters WHERE character_id IN (${marks})`, ids);
      money += Number(m!.money);
      const owned = await rowsOn<RowDataPacket>(tc.sandbox, node, `SELECT item_id FROM character_inventory WHERE character_id IN (${marks})`, ids);
      items.push(...owned.map((r) => Number(r.item_id)));
    }
    return { money, items: items.sort((x, y) => x - y) };
  }

  async function fallbacks(db: Cluster): Promise<number> {
    const metric = (await db.metrics.getMetricsAsJSON()).find((m) => m.name === 'mxo_lock_nowait_fallbacks_total');
    return (metric?.values ?? []).filter((v) => v.labels.operation === 'trade').reduce((s, v) => s + Number(v.value), 0);
  }

  it('8 workers trading both ways make progress: no lock wait timeout, money and items conserved', async () => {
    const { characters } = await seedCharacters(tc.db, { districts: [1, 4], count: 2, money: 100_000, itemsEach: 4, prefix: 'hot' });
    const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
    expect([a.shard, b.shard]).toEqual(['alpha', 'beta']);
    const ids = [a.id, b.id];
    const before = await holdings(ids);
    expect(before.items).toHaveLength(8);
    const fallbacksBefore = (await fallbacks(tc.db)) + (await fallbacks(other));

    const outcomes: Record<string, number> = {};
    const untyped: unknown[] = [];
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        const db = w % 2 ? other : tc.db;
        for (let i = 0; i < TRADES_PER_WORKER; i++) {
          const [from, to] = (w + i) % 2 ? [a, b] : [b, a];
          // Every fourth trade also gives an item the giver owned a moment ago (it may be gone
          // by the time the trade runs: a typed TRADE_ABORTED, and nothing moves).
          let itemIds: number[] = [];
          if (i % 4 === 0) {
            const [own] = await rowsOn<RowDataPacket>(
              tc.sandbox,
              `${from.shard}-primary`,
              'SELECT item_id FROM character_inventory WHERE character_id = ? ORDER BY RAND() LIMIT 1',
              [from.id],
            );
            if (own) itemIds = [Number(own.item_id)];
          }
          try {
            await db.trades.execute({
              initiator: { characterId: from.id, money: 1 + (i % 3), itemIds },
              recipient: { characterId: to.id, money: i % 2 },
            });
            outcomes.ok = (outcomes.ok ?? 0) + 1;
          } catch (error) {
            if (!(error instanceof MxoError)) untyped.push(error);
            const code = error instanceof MxoError ? error.code : 'UNTYPED';
            outcomes[code] = (outcomes[code] ?? 0) + 1;
          }
        }
      }),
    );
    const fellBack = (await fallbacks(tc.db)) + (await fallbacks(other)) - fallbacksBefore;
    console.log('hot pair:', JSON.stringify({ outcomes, nowaitFallbacks: fellBack }));

    expect(untyped).toEqual([]);
    // No lock wait timeout (CONFLICT), and nothing else but an item that had already left.
    expect(Object.keys(outcomes).filter((k) => k !== 'ok' && k !== 'TRADE_ABORTED')).toEqual([]);
    expect(outcomes.ok ?? 0).toBeGreaterThanOrEqual(WORKERS * TRADES_PER_WORKER * 0.8);
    // The pair is hot: first attempts met the other's locks and ran again in the lock order.
    expect(fellBack).toBeGreaterThan(0);

    expect(await xaRecoverAll(tc.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
    const after = await holdings(ids);
    expect(after).toEqual(before);
    const world = await readWorld(tc.sandbox, ids);
    expect(world.problems).toEqual([]);
  }, 180_000);

  it('a row held on the second shard: the trade runs again in the lock order, waits for it and completes', async () => {
    const { characters } = await seedCharacters(tc.db, { districts: [1, 4], count: 2, money: 1_000, itemsEach: 0, prefix: 'held' });
    const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
    const fallbacksBefore = await fallbacks(tc.db);
    const outside = await tc.sql('beta-primary');
    await outside.query('BEGIN');
    await outside.query('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [b.id]);
    const trade = tc.db.trades.execute({ initiator: { characterId: a.id, money: 10 }, recipient: { characterId: b.id, money: 0 } });
    // The NOWAIT attempt failed at once and the ordered one now waits on b's row (holding a's).
    const watcher = await tc.sql('beta-primary');
    for (let i = 0; ; i++) {
      const [rows] = await watcher.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
      if (Number(rows[0]!.n) > 0) break;
      if (i > 200) throw new Error('the trade never waited on the held row');
      // InnoDB refreshes INNODB_TRX only when it was last read over 100 ms ago.
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(await fallbacks(tc.db)).toBe(fallbacksBefore + 1);
    await outside.query('ROLLBACK');
    expect(await trade).toMatchObject({ crossShard: true, replayed: false });
    const after = await holdings([a.id, b.id]);
    expect(after.money).toBe(2_000);
    const world = await readWorld(tc.sandbox, [a.id, b.id]);
    expect([world.money.get(a.id), world.money.get(b.id)]).toEqual([990, 1_010]);
  }, 60_000);
});
