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
  alphaCharacter = (await t.db.characters.create({ accountId, name: 'Link', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
  betaCharacter = (await t.db.characters.create({ accountId, name: 'Zee', archetype: 'spy', gender: 'female', districtId: 4 })).characterId;
});
afterAll(async () => t?.stop());

describe('pools', () => {
  it('fails fast with a typed error when a shard is down, without spinning the CPU, and recovers', async () => {
    await t.sandbox.kill('alpha-primary');
    const started = Date.now();
    const error = await t.db.characters.get(alphaCharacter, { consistency: 'strong' }).catch((e) => e);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect((error as ShardUnavailableError).code).toBe('SHARD_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(ACQUIRE_TIMEOUT_MS + 500);

    // Hammer the dead shard for a second: every call fails typed and the process stays mostly idle.
    const cpuBefore = process.cpuUsage();
    const wallStart = Date.now();
    let failures = 0;
    while (Date.now() - wallStart < 1_000) {
      const e = await t.db.characters.adjustMoney(alphaCharacter, 1, 'quest_reward').catch((x) => x);
      expect(e).toBeInstanceOf(ShardUnavailableError);
      failures++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    expect(failures).toBeGreaterThan(10);
    expect(cpuMs).toBeLessThan(500); // a tight reconnect loop would burn ~1000 ms of CPU per second

    // The other shard is unaffected.
    expect((await t.db.characters.get(betaCharacter, { consistency: 'strong' })).characterName).toBe('Zee');

    await t.sandbox.restart('alpha-primary');
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        expect((await t.db.characters.get(alphaCharacter, { consistency: 'strong' })).characterName).toBe('Link');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  it('does not hand out connections that died with a restarted server', async () => {
    // Warm both pooled connections to beta, then restart beta under them.
    await Promise.all([1, 2].map(() => t.db.characters.get(betaCharacter, { consistency: 'strong' })));
    await t.sandbox.kill('beta-primary');
    await t.sandbox.restart('beta-primary');
    await new Promise((r) => setTimeout(r, 600)); // past downBackoffMs
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await t.db.characters.get(betaCharacter, { consistency: 'strong' }).then(() => 'ok', (e) => e.code));
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('times out acquires with a typed error when every connection is busy', async () => {
    const pool = t.db.pools().find((p) => p.identity.name === 'beta-primary')!;
    const held = [await pool.acquire(), await pool.acquire()];
    try {
      const started = Date.now();
      const error = await pool.acquire().catch((e) => e);
      expect(error).toBeInstanceOf(AcquireTimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(ACQUIRE_TIMEOUT_MS - 100);
      // Beyond maxWaitingClients, acquires are refused at once.
      const waiting = Array.from({ length: 4 }, () => pool.acquire().catch((e) => e));
      const refused = await pool.acquire().catch((e) => e);
      expect(refused).toBeInstanceOf(AcquireTimeoutError);
      await Promise.all(waiting);
    } finally {
      held.forEach((c) => pool.release(c));
    }
  });

  it('close() ends every connection and later calls fail typed', async () => {
    const db = await openCluster({ ...t.config, recovery: { intervalMs: 1_000, gracePeriodMs: 2_000 } });
    await db.characters.get(betaCharacter);
    await db.characters.get(alphaCharacter);
    const beta = await t.sql('beta-primary');
    const ours = async () => {
      const [rows] = await beta.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'root' AND ID <> CONNECTION_ID() AND COMMAND <> 'Binlog Dump'",
      );
      return Number(rows[0]!.n);
    };
    const before = await ours();
    await db.close();
    const deadline = Date.now() + 3_000;
    while ((await ours()) >= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await ours()).toBeLessThan(before);
    await expect(db.characters.get(betaCharacter)).rejects.toBeInstanceOf(ClosedError);
    expect(() => db.session()).toThrow(ClosedError);
  });
});
