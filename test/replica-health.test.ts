/**
 * The lag monitor against real replication (1 shard: primary + replica, plus global), checking
 * every 100 ms with a 300 ms lag limit: a killed replica, a stopped applier, an applier blocked
 * behind a row lock and a replica held up to 1 s behind (MASTER_DELAY = 1) are excluded, reads of every
 * consistency keep working through the primary (counted as fallbacks), and the replica rejoins
 * when it is healthy again.
 */
import type mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const REPLICA = 'alpha-replica-1';
let t: TestCluster;
let db: Cluster;
let primary: mysql.Connection;
let replica: mysql.Connection;
let characterId: number;
let otherId: number;

async function one(conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<unknown> {
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return rows[0] ? Object.values(rows[0])[0] : undefined;
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = db.metrics.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

const healthy = () => metric('mxo_replica_healthy', { node: REPLICA });
const replicaReads = () => metric('mxo_reads_total', { role: 'replica', consistency: 'eventual' });

/** What the replica and the monitor say, for failure messages. */
async function diagnose(): Promise<string> {
  const status = await replica
    .query<RowDataPacket[]>('SHOW SLAVE STATUS')
    .then(([[row]]) =>
      JSON.stringify({
        io: row?.Slave_IO_Running,
        sql: row?.Slave_SQL_Running,
        ioError: row?.Last_IO_Error,
        sqlError: row?.Last_SQL_Error,
        sbm: row?.Seconds_Behind_Master,
      }),
    )
    .catch((error: Error) => `replica unreachable: ${error.message}`);
  const pool = db.pools().find((p) => p.identity.name === REPLICA)!;
  return `${status}; healthy ${await healthy()}, lag ${await metric('mxo_replica_lag_seconds', { node: REPLICA })}, pool down ${pool.isDown()}`;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}: ${await diagnose()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - started;
}

/** Writes to `id` every `everyMs` until stopped; returns the last balance written. */
function writeLoop(id: number, everyMs = 20) {
  let running = true;
  let last = 0;
  let count = 0;
  const done = (async () => {
    while (running) {
      last = (await db.characters.adjustMoney(id, 1, 'quest_reward')).money;
      count++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    last: () => last,
    count: () => count,
    stop: async () => {
      running = false;
      await done;
      return last;
    },
  };
}

/** The replica serves eventual reads again: a few reads, at least one of them on the replica. */
async function servesEventualReads(): Promise<boolean> {
  const before = await replicaReads();
  for (let i = 0; i < 3; i++) await db.characters.get(otherId, { consistency: 'eventual' });
  return (await replicaReads()) > before;
}

beforeAll(async () => {
  t = await startTestCluster({
    shards: 1,
    replicasPerShard: 1,
    config: { replicas: { monitorIntervalMs: 100, maxLagMs: 300, gtidWaitTimeoutMs: 200, readTimeoutMs: 500 } },
  });
  db = t.db;
  primary = await t.sql('alpha-primary');
  replica = await t.sql(REPLICA);
  replica.on('error', () => {}); // it is killed below
  const { accountId } = await db.accounts.register({ username: 'morpheus', email: 'morpheus@zion.test', password: 'red-pill-blue-pill' });
  ({ characterId } = await db.characters.create({
    accountId,
    name: 'Morpheus',
    archetype: 'martial_artist',
    gender: 'male',
    districtId: 1,
  }));
  ({ characterId: otherId } = await db.characters.create({ accountId, name: 'Tank', archetype: 'hacker', gender: 'male', districtId: 2 }));
});

afterAll(async () => {
  await t?.stop();
});

describe('lag monitor (checks every 100 ms, lag limit 300 ms)', () => {
  it('a killed replica is skipped (reads of every consistency still succeed), and used again after restart', async () => {
    await until('the replica is healthy', async () => (await healthy()) === 1);
    expect(await servesEventualReads()).toBe(true);
    const fallbacks = await metric('mxo_replica_fallbacks_total');

    const identity = async () => String(await one(replica, "SELECT CONCAT(@@server_id, ' ', @@datadir)"));
    const before = await identity();
    // Let the replica finish applying before SIGKILL. Twice in ~25 runs under load, a replica
    // killed moments after applying beforeAll's last XA commit came back with its SQL thread
    // stopped ("An attempt was made to binlog GTID 0-2-51 which would create an out-of-order
    // sequence number with existing GTID 0-2-51, and gtid strict mode is enabled"): a MariaDB
    // crash-recovery matter, not what this test is about (the monitor then rightly keeps it out).
    const pos = String(await one(primary, 'SELECT @@gtid_binlog_pos'));
    expect(Number(await one(replica, 'SELECT MASTER_GTID_WAIT(?, 10)', [pos]))).toBe(0);
    // Polled, not slept: the SQL thread has applied everything and is idle.
    await until('the replica applier is idle', async () => {
      const [[status]] = await replica.query<RowDataPacket[]>('SHOW SLAVE STATUS');
      return /read all relay log/i.test(String(status?.Slave_SQL_Running_State ?? ''));
    });
    await t.sandbox.kill(REPLICA);
    const { money } = await db.characters.adjustMoney(characterId, 5, 'quest_reward');
    const player = db.session();
    await player.characters.adjustMoney(otherId, 1, 'quest_reward');
    for (const consistency of ['strong', 'session', 'eventual'] as const) {
      expect((await db.characters.get(characterId, { consistency })).money).toBe(money);
      expect((await db.session(db.token()).characters.get(characterId, { consistency })).money).toBe(money);
      expect(await db.inventory.list(characterId, { consistency })).toEqual([]);
      expect((await db.characters.listByAccount((await db.characters.get(characterId)).accountId, { consistency })).length).toBe(2);
      expect((await player.players.summary(otherId, { consistency })).characterName).toBe('Tank');
      expect(Array.isArray(await player.players.history(otherId, { consistency }))).toBe(true);
    }
    expect(await metric('mxo_replica_fallbacks_total')).toBeGreaterThan(fallbacks);
    await until('the monitor excludes the dead replica', async () => (await healthy()) === 0);
    expect(await metric('mxo_replica_lag_seconds', { node: REPLICA })).toBe(-1);
    // Excluded: eventual reads go straight to the primary, counted as such.
    const noReplica = await metric('mxo_replica_fallbacks_total', { reason: 'no_healthy_replica' });
    expect(await servesEventualReads()).toBe(false);
    expect(await metric('mxo_replica_fallbacks_total', { reason: 'no_healthy_replica' })).toBeGreaterThanOrEqual(noReplica + 3);

    await t.sandbox.restart(REPLICA);
    replica = await t.sql(REPLICA);
    replica.on('error', () => {});
    // The sandbox's readiness probe would accept any server on the port: make sure it is ours.
    expect(await identity(), 'another server answers on the restarted replica port').toBe(before);
    await until('the restarted replica rejoins', async () => (await healthy()) === 1, 20_000);
    const selects = Number(
      await one(replica, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_SELECT'"),
    );
    expect(await servesEventualReads()).toBe(true);
    expect(
      Number(await one(replica, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_SELECT'")),
    ).toBeGreaterThan(selects + 1);
    // It caught up with what was written while it was down.
    expect((await db.characters.get(characterId, { consistency: 'eventual' })).money).toBe(money);
  }, 60_000);

  it('an applier stopped while writes flow is excluded, and rejoins after START SLAVE', async () => {
    await until('the replica is healthy', async () => (await healthy()) === 1);
    await replica.query('STOP SLAVE SQL_THREAD');
    const writes = writeLoop(characterId);
    try {
      await until('the monitor excludes the stopped replica', async () => (await healthy()) === 0, 5_000);
      expect(await metric('mxo_replica_lag_seconds', { node: REPLICA })).toBe(-1);
      // Eventual reads now come from the primary: never older than the last write seen.
      const seen = writes.last();
      expect((await db.characters.get(characterId, { consistency: 'eventual' })).money).toBeGreaterThanOrEqual(seen);
      expect(await servesEventualReads()).toBe(false);
    } finally {
      await replica.query('START SLAVE SQL_THREAD');
    }
    await until('the replica rejoins', async () => (await healthy()) === 1, 10_000);
    const last = await writes.stop();
    expect(await servesEventualReads()).toBe(true);
    await until(
      'the replica has the last write',
      async () => (await db.characters.get(characterId, { consistency: 'eventual' })).money === last,
      5_000,
    );
  });

  it('an applier blocked behind a row lock is excluded by its lag (threads still running), and rejoins', async () => {
    await until('the replica is healthy', async () => (await healthy()) === 1);
    const locker = await t.sql(REPLICA);
    await locker.query('BEGIN');
    await locker.query('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [characterId]);
    const writes = writeLoop(characterId);
    try {
      await until('the monitor excludes the lagging replica', async () => (await healthy()) === 0, 5_000);
      // Excluded for its lag, not for a stopped thread.
      const [[status]] = await replica.query<RowDataPacket[]>('SHOW SLAVE STATUS');
      expect([status!.Slave_IO_Running, status!.Slave_SQL_Running]).toEqual(['Yes', 'Yes']);
      expect(await metric('mxo_replica_lag_seconds', { node: REPLICA })).toBeGreaterThan(0.3);
      expect(await servesEventualReads()).toBe(false);
    } finally {
      await locker.query('ROLLBACK');
    }
    await until('the replica rejoins', async () => (await healthy()) === 1, 10_000);
    await writes.stop();
    expect(await servesEventualReads()).toBe(true);
  });

  it('a replica held up to 1 s behind (MASTER_DELAY = 1) stays excluded while writes flow: no flapping', async () => {
    await until('the replica is healthy', async () => (await healthy()) === 1);
    await replica.query('STOP SLAVE');
    await replica.query('CHANGE MASTER TO MASTER_DELAY = 1');
    await replica.query('START SLAVE');
    const writes = writeLoop(otherId, 30);
    const samples: number[] = [];
    try {
      await until('the monitor excludes the delayed replica', async () => (await healthy()) === 0, 5_000);
      // Seconds_Behind_Master reads 0 much of this time; the GTID lag does not. Sample until
      // 60 more writes went through (a state, about two seconds at 30 ms per write).
      const target = writes.count() + 60;
      while (writes.count() < target) {
        samples.push(await healthy());
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await writes.stop();
      await replica.query('STOP SLAVE');
      await replica.query('CHANGE MASTER TO MASTER_DELAY = 0');
      await replica.query('START SLAVE');
    }
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.filter((s) => s === 1)).toEqual([]);
    await until('the replica rejoins', async () => (await healthy()) === 1, 10_000);
    const pos = String(await one(primary, 'SELECT @@gtid_binlog_pos'));
    expect(Number(await one(replica, 'SELECT MASTER_GTID_WAIT(?, 10)', [pos]))).toBe(0);
  });

  it('a frozen replica (SIGSTOP) never holds a read past readTimeoutMs, is excluded, and rejoins after SIGCONT', async () => {
    await until('the replica is healthy', async () => (await healthy()) === 1, 15_000);
    await until('the replica serves eventual reads', servesEventualReads);
    const pid = t.sandbox.node(REPLICA).pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const { money } = await db.characters.adjustMoney(otherId, 1, 'quest_reward');
      const started = Date.now();
      expect((await db.characters.get(otherId, { consistency: 'eventual' })).money).toBeLessThanOrEqual(money);
      // Ended by its read timeout (500 ms), not by the frozen server: a ratio with room for a busy machine.
      expect((Date.now() - started) / 500).toBeLessThan(10);
      await until('the monitor excludes the frozen replica', async () => (await healthy()) === 0, 10_000);
      // Excluded, the replica is not tried at all: no read pays its timeout any more.
      const excludedTimeouts = await metric('mxo_replica_fallbacks_total', { reason: 'replica_timeout' });
      for (let i = 0; i < 5; i++) expect((await db.characters.get(otherId, { consistency: 'eventual' })).money).toBe(money);
      expect(await metric('mxo_replica_fallbacks_total', { reason: 'replica_timeout' })).toBe(excludedTimeouts);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until('the replica rejoins', async () => (await healthy()) === 1, 20_000);
    await until('the replica serves eventual reads again', servesEventualReads);
  }, 60_000);
});
