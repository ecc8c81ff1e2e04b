import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, ClosedError, openCluster, ShardUnavailableError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const ACQUIRE_TIMEOUT_MS = 1_500;
let t: TestCluster;
let alphaCharacter: number;
let betaCharacter: number;

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: { pool: { max: 2, acquireTimeoutMs: ACQUIRE_TIMEOUT_MS, connectTimeoutMs: 1_000, downBackoffMs: 500, maxWaitingClients: 4 } },
  });
  const { accountId } = await t.db.accounts.register({ username: 'link', email: 'link@zion.example', password: 'operator-123' });
  alphaCharacter = (await t.db.characters.create({ accountId, name: 'Link', archetype: 'hacker', gender: 'male', districtId: 1 }))
    .characterId;
  betaCharacter = (await t.db.characters.create({ accountId, name: 'Zee', archetype: 'spy', gender: 'female', districtId: 4 })).characterId;
});
afterAll(async () => t?.stop());

const alphaPool = () => t.db.pools().find((p) => p.identity.name === 'alpha-primary')!;

/**
 * mxo_pool_acquire_failures_total for one shard's primary and reason. Read from the counter
 * alone: a full registry read runs collectors that query the databases (and would queue on the
 * very pool under test).
 */
async function failures(shard: string, reason: string): Promise<number> {
  const metric = await t.db.metrics.getSingleMetric('mxo_pool_acquire_failures_total')?.get();
  return (metric?.values ?? [])
    .filter((v) => v.labels.shard === shard && v.labels.role === 'primary' && v.labels.reason === reason)
    .reduce((s, v) => s + Number(v.value), 0);
}

/** Resolves with `p` if it settles before `ms`, else fails: an ordering against a timer. */
async function firstOf<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Retries `fn` until it resolves (polling a state), up to 15 s. */
async function pollValue<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('pools', () => {
  it('fails fast with a typed error when a shard is down, without spinning the CPU, and recovers', async () => {
    await t.sandbox.kill('alpha-primary');
    // Fails before the acquire timeout could have fired (an ordering, with the whole timeout as margin).
    const error = await firstOf(
      t.db.characters.get(alphaCharacter, { consistency: 'strong' }).catch((e) => e),
      ACQUIRE_TIMEOUT_MS,
    );
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect((error as ShardUnavailableError).code).toBe('SHARD_UNAVAILABLE');
    expect(alphaPool().isDown()).toBe(true);

    // Hammer the dead shard, 50 calls paced 20 ms apart (about two back-off windows): every call
    // fails typed and the process stays mostly idle.
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    for (let i = 0; i < 50; i++) {
      const e = await t.db.characters.adjustMoney(alphaCharacter, 1, 'quest_reward').catch((x) => x);
      expect(e).toBeInstanceOf(ShardUnavailableError);
      await new Promise((r) => setTimeout(r, 20));
    }
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    // CPU per second of wall time (a busy machine stretches the wall time, not this process's CPU):
    // a tight reconnect loop would burn about one core.
    expect(cpuMs / (performance.now() - wallBefore)).toBeLessThan(0.5);

    // The other shard is unaffected.
    expect((await t.db.characters.get(betaCharacter, { consistency: 'strong' })).characterName).toBe('Zee');

    await t.sandbox.restart('alpha-primary');
    // Poll for the state: the first call that succeeds after the restart reads the character.
    const name = await pollValue(() => t.db.characters.get(alphaCharacter, { consistency: 'strong' }).then((c) => c.characterName));
    expect(name).toBe('Link');
  });

  it('does not hand out connections that died with a restarted server', async () => {
    // Warm both pooled connections to beta, then restart beta under them.
    const pool = t.db.pools().find((p) => p.identity.name === 'beta-primary')!;
    const held = [await pool.acquire(), await pool.acquire()];
    held.forEach((c) => pool.release(c));
    expect(pool.stats().idle).toBe(2);
    await t.sandbox.kill('beta-primary');
    await t.sandbox.restart('beta-primary');
    // The server is back (it accepts connections); the pool has not been told: no sleep needed.
    await pollValue(() => t.sql('beta-primary').then((c) => c.end()));
    expect(pool.isDown()).toBe(false);
    const results = [];
    for (let i = 0; i < 5; i++)
      results.push(
        await t.db.characters.get(betaCharacter, { consistency: 'strong' }).then(
          () => 'ok',
          (e) => e.code,
        ),
      );
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('times out acquires with a typed error when every connection is busy', async () => {
    const pool = t.db.pools().find((p) => p.identity.name === 'beta-primary')!;
    const held = [await pool.acquire(), await pool.acquire()];
    try {
      const timeoutsBefore = await failures('beta', 'timeout');
      const error = await pool.acquire().catch((e) => e);
      expect(error).toBeInstanceOf(AcquireTimeoutError);
      expect((error as AcquireTimeoutError).timeoutMs).toBe(ACQUIRE_TIMEOUT_MS); // waited its timeout
      expect(await failures('beta', 'timeout')).toBe(timeoutsBefore + 1);
      // Beyond maxWaitingClients (4), acquires are refused at once: the 5th waiter is refused
      // before any of the 4 queued ones times out, as "queue full", not as a timeout.
      const queueFullBefore = await failures('beta', 'queue_full');
      const settled: string[] = [];
      const waiting = Array.from({ length: 4 }, (_, i) => pool.acquire().catch((e) => (settled.push(`waiter${i}`), e)));
      const refused = await pool.acquire().catch((e) => (settled.push('refused'), e));
      expect(refused).toBeInstanceOf(AcquireTimeoutError);
      expect((refused as AcquireTimeoutError).timeoutMs).toBe(0);
      expect(await failures('beta', 'queue_full')).toBe(queueFullBefore + 1);
      const waited = await Promise.all(waiting);
      expect(settled[0]).toBe('refused');
      expect(waited.map((e) => (e as AcquireTimeoutError).timeoutMs)).toEqual([
        ACQUIRE_TIMEOUT_MS,
        ACQUIRE_TIMEOUT_MS,
        ACQUIRE_TIMEOUT_MS,
        ACQUIRE_TIMEOUT_MS,
      ]);
    } finally {
      held.forEach((c) => pool.release(c));
    }
  });

  it('callers waiting on a busy node get released connections first come, first served; a broken one is replaced', async () => {
    const pool = t.db.pools().find((p) => p.identity.name === 'beta-primary')!;
    const [first, second] = [await pool.acquire(), await pool.acquire()];
    const order: string[] = [];
    const one = pool.acquire().then((c) => (order.push('one'), c));
    const two = pool.acquire().then((c) => (order.push('two'), c));
    expect(pool.stats().pending).toBe(2);
    pool.release(first);
    const gotOne = await one;
    expect(gotOne).toBe(first); // handed over directly, still the same session
    expect(order).toEqual(['one']);
    // A broken connection frees its slot: the next waiter gets a new session, which works.
    second.broken = true;
    pool.release(second);
    const gotTwo = await two;
    expect(gotTwo).not.toBe(second);
    expect(gotTwo.threadId).not.toBe(second.threadId);
    expect(await gotTwo.rows<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(order).toEqual(['one', 'two']);
    pool.release(gotOne);
    pool.release(gotTwo);
    expect(pool.stats().pending).toBe(0);
  });

  it('close() ends every connection (all of them, on every node) and later calls fail typed', async () => {
    const nodes = ['global-primary', 'alpha-primary', 'beta-primary'];
    const watchers = await Promise.all(nodes.map((n) => t.sql(n)));
    const sessions = async () =>
      Promise.all(
        watchers.map(async (w) => {
          const [rows] = await w.query<RowDataPacket[]>(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Binlog Dump'",
          );
          return new Set(rows.map((r) => Number(r.ID)));
        }),
      );
    const baseline = await sessions();
    const db = await openCluster({ ...t.config, recovery: { intervalMs: 1_000, gracePeriodMs: 2_000 } });
    // Both connections of each shard pool (max 2) open at once, plus global's.
    await db.characters.get(betaCharacter, { consistency: 'strong' });
    for (const pool of db.pools().filter((p) => p.identity.role === 'primary' && p.identity.shard !== 'global')) {
      const held = [await pool.acquire(), await pool.acquire()];
      held.forEach((c) => pool.release(c));
    }
    const opened = (await sessions()).map((ids, i) => [...ids].filter((id) => !baseline[i]!.has(id)));
    expect(opened[1]!.length).toBeGreaterThanOrEqual(2);
    expect(opened[2]!.length).toBeGreaterThanOrEqual(2);
    await db.close();
    // Poll until every session the cluster opened is gone (close() may return before the server notices).
    const left = await pollValue(async () => {
      const now = await sessions();
      const still = opened.flatMap((ids, i) => ids.filter((id) => now[i]!.has(id)).map((id) => `${nodes[i]}#${id}`));
      if (still.length > 0) throw new Error(`still open: ${still.join(', ')}`);
      return still;
    });
    expect(left).toEqual([]);
    await expect(db.characters.get(betaCharacter)).rejects.toBeInstanceOf(ClosedError);
    expect(() => db.session()).toThrow(ClosedError);
  });
});
