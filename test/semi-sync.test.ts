/**
 * Semi-synchronous replication in the sandbox (issue 25): every primary with a replica waits for
 * a replica's ack (AFTER_SYNC), `status` and `mxo_replication_semi_sync_active` say so, and when
 * the replica stops acknowledging (its receiver thread stopped) the primary's fallback to
 * asynchronous replication after the timeout is visible in both, and so is its return.
 */
import type mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let db: Cluster;
let primary: mysql.Connection;
let replica: mysql.Connection;
let characterId: number;

async function one(conn: mysql.Connection, sql: string): Promise<string> {
  const [rows] = await conn.query<RowDataPacket[]>(sql);
  return String(Object.values(rows[0] ?? {})[0]);
}

/** The gauge's value per shard, as a scrape sees it (the collector reads each primary at most every 5 s). */
async function semiSyncGauge(): Promise<Record<string, number>> {
  const m = db.metrics.getSingleMetric('mxo_replication_semi_sync_active')!;
  const { values } = await m.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.shard), v.value]));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const alphaSemiSync = async () => (await db.status()).nodes.find((n) => n.name === 'alpha-primary')!.semiSync;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 1 });
  db = t.db;
  primary = await t.sql('alpha-primary');
  replica = await t.sql('alpha-replica-1');
  const { accountId } = await db.accounts.register({ username: 'niobe', email: 'niobe@zion.test', password: 'logos-hovercraft' });
  ({ characterId } = await db.characters.create({ accountId, name: 'Niobe', archetype: 'hacker', gender: 'female', districtId: 1 }));
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('semi-synchronous replication', () => {
  it('is on, AFTER_SYNC, on every primary with a replica; acks counted; status and the gauge report it', async () => {
    expect(await one(primary, 'SELECT @@rpl_semi_sync_master_wait_point')).toBe('AFTER_SYNC');
    expect(await one(replica, 'SELECT @@rpl_semi_sync_slave_enabled')).toBe('1');
    const [[yes]] = await primary.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'");
    const before = Number(yes!.Value);
    await db.characters.adjustMoney(characterId, 3, 'quest_reward');
    const [[after]] = await primary.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'");
    expect(Number(after!.Value)).toBeGreaterThan(before);

    const status = await db.status();
    for (const name of ['alpha-primary', 'beta-primary']) {
      expect(status.nodes.find((n) => n.name === name)!.semiSync, name).toEqual({ enabled: true, active: true, clients: 1 });
    }
    // global has no replica in this sandbox: no semi-sync, nothing to report.
    expect(status.nodes.find((n) => n.name === 'global-primary')!.semiSync).toBeUndefined();
    expect(await one(await t.sql('global-primary'), 'SELECT @@rpl_semi_sync_master_enabled')).toBe('0');
    expect(status.healthy, status.problems.join('\n')).toBe(true);
    expect(await semiSyncGauge()).toEqual({ alpha: 1, beta: 1 });
  });

  it('a replica that stops acknowledging: the fallback to async shows in status and the gauge, and so does the return', async () => {
    // Not the 5 s of the sandbox's config: the fallback is what is tested here, not its timing.
    await primary.query('SET GLOBAL rpl_semi_sync_master_timeout = 300');
    try {
      await replica.query('STOP SLAVE IO_THREAD');
      await db.characters.adjustMoney(characterId, 1, 'quest_reward'); // waits out the timeout, then commits async
      const semi = await alphaSemiSync();
      expect(semi).toMatchObject({ enabled: true, active: false });
      const status = await db.status();
      expect(status.healthy).toBe(false);
      expect(status.problems.some((p) => p.startsWith('alpha-primary: semi-synchronous replication fell back to asynchronous'))).toBe(true);
      await until('the gauge reports alpha asynchronous', async () => (await semiSyncGauge()).alpha === 0);
      expect((await semiSyncGauge()).beta).toBe(1);
    } finally {
      await replica.query('START SLAVE IO_THREAD');
      await primary.query('SET GLOBAL rpl_semi_sync_master_timeout = 5000');
    }
    // Back on once the replica has caught up and acknowledges again (the next commit shows it).
    await until('alpha is semi-synchronous again', async () => {
      await db.characters.adjustMoney(characterId, 1, 'quest_reward');
      return (await alphaSemiSync())?.active === true;
    });
    await until('the gauge reports alpha semi-synchronous', async () => (await semiSyncGauge()).alpha === 1);
  }, 90_000);
});
