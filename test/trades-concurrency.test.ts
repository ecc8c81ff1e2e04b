/**
 * Trades under concurrency (real servers, no mocks; every check by direct SQL):
 * - a character moved back and forth between alpha and beta while other processes' caches trade
 *   with it: no row lost or duplicated, directory and shard agree, items unique;
 * - idempotency keys: sequential and concurrent repeats apply once and replay the first result,
 *   also after the initiator moved to another shard;
 * - opposing trades on the same pair, many at once: all complete or fail typed, nothing lost,
 *   deadlock retries visible in mxo_deadlock_retries_total.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError, openCluster, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { readWorld, rowsOn, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters } from './support/twopc-world.js';

describe('trades under concurrency', () => {
  let tc: TestCluster;
  /** A second cluster handle: its own directory cache, like another server process. */
  let other: Cluster;

  beforeAll(async () => {
    tc = await startTestCluster({
      shards: 2,
      replicasPerShard: 0,
      config: { pool: { max: 16, lockWaitTimeoutSec: 5 }, twoPhase: { statementTimeoutMs: 8_000, deadlockRetries: 8 } },
    });
    other = await openCluster(tc.config);
  });

  afterAll(async () => {
    await other?.close();
    await tc?.stop();
  });

  async function expectClean(ids: number[], totalMoney: number, items: number[]): Promise<void> {
    expect(await xaRecoverAll(tc.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
    const world = await readWorld(tc.sandbox, ids);
    expect(world.problems).toEqual([]);
    expect(ids.reduce((s, id) => s + world.money.get(id)!, 0)).toBe(totalMoney);
    const owned = [...world.items].filter(([, owner]) => ids.includes(owner)).map(([i]) => i);
    expect(owned.sort()).toEqual([...items].sort());
  }

  it('moves back and forth while trades (through a stale cache too) involve the mover: nothing lost, nothing duplicated', async () => {
    const { characters } = await seedCharacters(tc.db, { districts: [1, 1, 4, 2, 5], count: 5, money: 10_000, itemsEach: 4, prefix: 'mv' });
    const [mover, ...partners] = characters;
    const ids = characters.map((c) => c.id);
    const allItems = characters.flatMap((c) => c.items);
    const total = 50_000;
    const owner = new Map(characters.flatMap((c) => c.items.map((i) => [i, c.id] as const)));
    // Mover gets extra rows in tables that move with it.
    await rowsOn(
      tc.sandbox,
      'alpha-primary',
      'INSERT INTO character_abilities (character_id, ability_id, ability_level) VALUES (?, 7, 3), (?, 9, 1)',
      [mover!.id, mover!.id],
    );

    let stop = false;
    const errors: Record<string, number> = {};
    const untyped: unknown[] = [];
    let moves = 0;
    let trades = 0;
    let attempts = 0; // trades finished either way
    const note = (error: unknown) => {
      const code = error instanceof MxoError ? error.code : 'UNTYPED';
      errors[code] = (errors[code] ?? 0) + 1;
      if (!(error instanceof MxoError)) untyped.push(error);
    };

    const moverLoop = async () => {
      for (let i = 0; i < 40; i++) {
        try {
          await tc.db.characters.moveToDistrict(mover!.id, [4, 2, 6, 1][i % 4]!);
          moves++;
          // Stay until at least one trade finished since the move (polled, not timed): moves
          // overlap trades without starving them.
          const seen = attempts;
          while (attempts === seen) await new Promise((r) => setTimeout(r, 1));
        } catch (error) {
          note(error);
        }
      }
      stop = true;
    };
    const trader = (db: Cluster) => async () => {
      while (!stop) {
        const partner = partners[Math.floor(Math.random() * partners.length)]!;
        const moverGives = Math.random() < 0.5;
        const from = moverGives ? mover! : partner;
        const give = [...owner]
          .filter(([, o]) => o === from.id)
          .map(([i]) => i)
          .slice(0, 1);
        const side = (c: typeof mover, items: number[]) => ({
          characterId: c!.id,
          money: 1 + Math.floor(Math.random() * 20),
          itemIds: items,
        });
        try {
          await db.trades.execute(
            moverGives
              ? { initiator: side(mover, give), recipient: side(partner, []) }
              : { initiator: side(partner, give), recipient: side(mover, []) },
          );
          for (const i of give) owner.set(i, moverGives ? partner.id : mover!.id);
          trades++;
        } catch (error) {
          note(error);
        }
        attempts++;
      }
    };
    await Promise.all([moverLoop(), trader(tc.db)(), trader(other)(), trader(other)()]);
    expect(untyped).toEqual([]);
    expect(moves).toBeGreaterThanOrEqual(30);
    expect(trades).toBeGreaterThan(10);
    console.log('moves/trades:', JSON.stringify({ moves, trades, errors }));

    await expectClean(ids, total, allItems);
    // The mover's rows exist exactly once cluster-wide, on the shard the directory names.
    const [dir] = await rowsOn<{ shard_name: string; district_id: number }>(
      tc.sandbox,
      'global-primary',
      'SELECT shard_name, district_id FROM character_directory WHERE character_id = ?',
      [mover!.id],
    );
    const rowsPerTable: Record<string, number> = { characters: 1, character_statistics: 1, pvp_statistics: 1, character_abilities: 2 };
    for (const [table, n] of Object.entries(rowsPerTable)) {
      const counts: Record<string, number> = {};
      for (const shard of ['alpha', 'beta']) {
        const [r] = await rowsOn<{ n: number }>(
          tc.sandbox,
          `${shard}-primary`,
          `SELECT COUNT(*) AS n FROM ${table} WHERE character_id = ?`,
          [mover!.id],
        );
        counts[shard] = Number(r!.n);
      }
      expect({ table, ...counts }).toEqual({ table, alpha: dir!.shard_name === 'alpha' ? n : 0, beta: dir!.shard_name === 'beta' ? n : 0 });
    }
    const [row] = await rowsOn<{ district_id: number }>(
      tc.sandbox,
      `${dir!.shard_name}-primary`,
      'SELECT district_id FROM characters WHERE character_id = ?',
      [mover!.id],
    );
    expect(Number(row!.district_id)).toBe(Number(dir!.district_id));
    // Both handles read the character where it is (stale caches are re-resolved).
    expect((await other.characters.get(mover!.id, { consistency: 'strong' })).shard).toBe(dir!.shard_name);
  }, 90_000);

  describe('idempotency keys', () => {
    for (const cross of [true, false]) {
      it(`${cross ? 'cross' : 'same'}-shard: a sequential repeat replays the first result and applies once`, async () => {
        const { characters } = await seedCharacters(tc.db, {
          districts: cross ? [1, 4] : [1, 2],
          count: 2,
          money: 500,
          itemsEach: 1,
          prefix: 'ik',
        });
        const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
        const key = `seq-${cross}-${a.id}`;
        const input = {
          initiator: { characterId: a.id, money: 70, itemIds: a.items },
          recipient: { characterId: b.id, money: 0 },
          idempotencyKey: key,
        };
        const first = await tc.db.trades.execute(input);
        expect(first).toMatchObject({ replayed: false, crossShard: cross });
        const second = await other.trades.execute(input);
        expect(second).toEqual({ ...first, replayed: true });
        const world = await readWorld(tc.sandbox, [a.id, b.id]);
        expect([world.money.get(a.id), world.money.get(b.id)]).toEqual([430, 570]);
        expect(world.items.get(a.items[0]!)).toBe(b.id);
        const sessions = await rowsOn(
          tc.sandbox,
          `${a.shard}-primary`,
          'SELECT trade_id FROM trade_sessions WHERE initiator_id = ?',
          [a.id],
        );
        expect(sessions.map((s) => Number(s.trade_id))).toEqual([first.tradeId]);
      });

      it(`${cross ? 'cross' : 'same'}-shard: 6 concurrent calls with one key apply once; the rest replay the same tradeId`, async () => {
        const { characters } = await seedCharacters(tc.db, {
          districts: cross ? [4, 1] : [5, 6],
          count: 2,
          money: 500,
          itemsEach: 0,
          prefix: 'ic',
        });
        const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
        const key = `conc-${cross}-${a.id}`;
        const input = { initiator: { characterId: a.id, money: 40 }, recipient: { characterId: b.id, money: 5 }, idempotencyKey: key };
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : tc.db).trades.execute(input)));
        expect(results.filter((r) => !r.replayed)).toHaveLength(1);
        expect(new Set(results.map((r) => r.tradeId)).size).toBe(1);
        const world = await readWorld(tc.sandbox, [a.id, b.id]);
        expect([world.money.get(a.id), world.money.get(b.id)]).toEqual([465, 535]);
        for (const shard of new Set([a.shard, b.shard])) {
          const rows = await rowsOn(
            tc.sandbox,
            `${shard}-primary`,
            'SELECT COUNT(*) AS n FROM transaction_history WHERE related_trade_id = ?',
            [results[0]!.tradeId],
          );
          expect(Number(rows[0]!.n)).toBe(2); // one row per direction, written once
        }
      });
    }

    it('a repeat after the initiator moved to another shard still replays (the key is not re-applied)', async () => {
      const { characters } = await seedCharacters(tc.db, { districts: [1, 4], count: 2, money: 500, itemsEach: 0, prefix: 'im' });
      const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
      const input = {
        initiator: { characterId: a.id, money: 100 },
        recipient: { characterId: b.id, money: 0 },
        idempotencyKey: `moved-${a.id}`,
      };
      const first = await tc.db.trades.execute(input);
      await tc.db.characters.moveToDistrict(a.id, 5); // alpha -> beta; the trade record stays on alpha
      const again = await other.trades.execute(input);
      expect(again).toEqual({ ...first, replayed: true });
      const world = await readWorld(tc.sandbox, [a.id, b.id]);
      expect([world.money.get(a.id), world.money.get(b.id)]).toEqual([400, 600]);
    });
  });

  it('opposing trades on the same pairs, many at once: all complete or fail typed; nothing lost', async () => {
    const { characters } = await seedCharacters(tc.db, { districts: [1, 4, 2], count: 3, money: 5_000, itemsEach: 0, prefix: 'dl' });
    const [a, b, c] = characters as [(typeof characters)[0], (typeof characters)[0], (typeof characters)[0]];
    const ids = [a.id, b.id, c.id];
    const deadlocksBefore = await innodbDeadlocks(tc);
    const retriesBefore = (await retriesOf(tc.db)) + (await retriesOf(other));
    const pairs: Array<[number, number]> = [
      [a.id, b.id],
      [b.id, a.id],
      [a.id, c.id],
      [c.id, a.id],
      [b.id, c.id],
      [c.id, b.id],
    ];
    const outcomes: Record<string, number> = {};
    const untyped: unknown[] = [];
    for (let round = 0; round < 12; round++) {
      await Promise.all(
        pairs.map(async ([x, y], i) => {
          try {
            await (i % 2 ? other : tc.db).trades.execute({
              initiator: { characterId: x, money: 7 },
              recipient: { characterId: y, money: 3 },
            });
            outcomes.ok = (outcomes.ok ?? 0) + 1;
          } catch (error) {
            if (!(error instanceof MxoError)) untyped.push(error);
            const code = error instanceof MxoError ? error.code : 'UNTYPED';
            outcomes[code] = (outcomes[code] ?? 0) + 1;
          }
        }),
      );
    }
    expect(untyped).toEqual([]);
    expect(outcomes.ok).toBeGreaterThanOrEqual(60); // conflicts, if any, are rare and typed (CONFLICT)
    await expectClean(ids, 15_000, []);
    // The retry counter against the servers' own count: every deadlock InnoDB reported killed one
    // of these trades, and each was retried once (counted) unless its retries ran out (CONFLICT).
    const retried = (await retriesOf(tc.db)) + (await retriesOf(other)) - retriesBefore;
    const deadlocks = (await innodbDeadlocks(tc)) - deadlocksBefore;
    console.log('opposing trades:', JSON.stringify({ outcomes, deadlockRetries: retried, innodbDeadlocks: deadlocks }));
    expect(retried).toBeLessThanOrEqual(deadlocks);
    expect(retried).toBeGreaterThanOrEqual(deadlocks - (outcomes.CONFLICT ?? 0));
  }, 60_000);

  it('a real deadlock (1213) is retried with backoff and counted in mxo_deadlock_retries_total; a lock wait timeout fails typed', async () => {
    const quick = await openCluster({ ...tc.config, pool: { ...tc.config.pool, lockWaitTimeoutSec: 1 } });
    try {
      const { characters } = await seedCharacters(tc.db, { districts: [1, 2, 4], count: 3, money: 1_000, itemsEach: 0, prefix: 'rt' });
      const [a, b, c] = characters as [(typeof characters)[0], (typeof characters)[0], (typeof characters)[0]];
      const retries = () => retriesOf(quick);
      const deadlocksBefore = await innodbDeadlocks(tc);

      // Deadlock: an outside session holds b (with undo, so InnoDB picks the trade as the victim)
      // while the same-shard trade holds a and waits for b; then the outside session asks for a.
      await withSqlOpen(tc, 'alpha-primary', async (outside) => {
        await outside.query('BEGIN');
        await outside.query('UPDATE characters SET experience = experience + 1 WHERE character_id = ?', [b.id]);
        for (let i = 0; i < 20; i++) {
          await outside.query(
            "INSERT INTO transaction_history (from_character_id, transaction_type, money_amount, transaction_reason, district_id) VALUES (?, 'admin_grant', 0, 'deadlock probe', 1)",
            [b.id],
          );
        }
        const trade = quick.trades.execute({ initiator: { characterId: a.id, money: 10 }, recipient: { characterId: b.id, money: 0 } });
        // Poll until the trade is blocked on b's row lock (it holds a by then: the lock order).
        const watcher = await tc.sql('alpha-primary');
        await pollUntil(async () => {
          const [rows] = await watcher.query<RowDataPacket[]>(
            "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
          );
          return Number(rows[0]!.n) > 0;
          // InnoDB refreshes INNODB_TRX only when it was last read over 100 ms ago: poll slower.
        }, 150);
        await outside.query('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [a.id]).catch(() => undefined);
        await outside.query('ROLLBACK');
        expect(await trade).toMatchObject({ crossShard: false, replayed: false });
      });
      const afterDeadlock = await retries();
      // Exactly one deadlock happened (the server's count) and it was retried exactly once.
      expect((await innodbDeadlocks(tc)) - deadlocksBefore).toBe(1);
      expect(afterDeadlock).toBe(1);

      // Lock wait timeout across shards: an outside session holds c (beta) past the 1 s lock wait
      // timeout. That is not retried (it already waited): a typed ConflictError, nothing changed.
      await withSqlOpen(tc, 'beta-primary', async (outside) => {
        await outside.query('BEGIN');
        await outside.query('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [c.id]);
        const error = await quick.trades
          .execute({ initiator: { characterId: a.id, money: 5 }, recipient: { characterId: c.id, money: 1 } })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(MxoError);
        expect((error as MxoError).code).toBe('CONFLICT');
        await outside.query('ROLLBACK');
      });
      expect(await retries()).toBe(afterDeadlock);
      await expectClean([a.id, b.id, c.id], 3_000, []);
      const world = await readWorld(tc.sandbox, [a.id, b.id, c.id]);
      expect([a.id, b.id, c.id].map((id) => world.money.get(id))).toEqual([990, 1_010, 1_000]);
    } finally {
      await quick.close();
    }
  }, 60_000);
});

/** Sum of mxo_deadlock_retries_total over its labels, in one cluster handle's registry. */
async function retriesOf(db: Cluster): Promise<number> {
  const metric = (await db.metrics.getMetricsAsJSON()).find((m) => m.name === 'mxo_deadlock_retries_total');
  return (metric?.values ?? []).reduce((s, v) => s + Number(v.value), 0);
}

/** Deadlocks InnoDB detected so far, summed over the primaries (the servers' own count). */
async function innodbDeadlocks(tc: TestCluster): Promise<number> {
  let n = 0;
  for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
    const [r] = await rowsOn<{ Value: string }>(tc.sandbox, node, "SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'");
    n += Number(r!.Value);
  }
  return n;
}

/** Polls `check` until it holds (state, not time, is what the test waits for). */
async function pollUntil(check: () => Promise<boolean>, everyMs = 10, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('pollUntil: condition never held');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A raw root session held open across steps (for lock games), closed afterwards. */
async function withSqlOpen(tc: TestCluster, node: string, fn: (c: Connection) => Promise<void>): Promise<void> {
  const conn = await tc.sql(node);
  try {
    await fn(conn);
  } finally {
    await conn.query('ROLLBACK').catch(() => undefined);
  }
}
