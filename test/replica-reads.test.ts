/**
 * Read routing against real GTID replication (1 shard: primary + replica, plus global): session
 * reads never miss the session's own writes, even when the replica is stopped or blocked, in this
 * process or in another one continuing the session from its token; eventual reads really run on
 * the replica (proved by stale values while it is behind, and by Com_select on each server).
 *
 * The lag monitor here checks the replicas once after migrate and then not again for ten minutes,
 * so a stopped or blocked applier stays "healthy" to the router: that is the window in which a
 * replica is behind and nobody knows yet, the case session consistency must survive on its own.
 * (Exclusion by the monitor is tested in replica-health.test.ts.)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, type Cluster } from '../src/index.js';
import { ReadSession } from '../src/routing/read-session.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INDEX = fileURLToPath(new URL('../src/index.ts', import.meta.url));

let t: TestCluster;
let db: Cluster;
let primary: mysql.Connection;
let replica: mysql.Connection;
let globalPrimary: mysql.Connection;
let characterId: number;
let accountId: number;

async function one(conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<unknown> {
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return rows[0] ? Object.values(rows[0])[0] : undefined;
}

const comSelect = async (conn: mysql.Connection) =>
  Number((await conn.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Com_select'"))[0][0]?.Value);

/** Sum of a metric's series whose labels include `labels` (histograms: pass `name_count`). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const family = name.replace(/_(count|sum)$/, '');
  const m = db.metrics.getSingleMetric(family);
  if (!m) return 0;
  const { values } = await m.get();
  return (values as Array<(typeof values)[number] & { metricName?: string }>)
    .filter((v) => (family === name ? !v.metricName || v.metricName === name : v.metricName === name))
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Waits (on the replica itself) until it has applied everything the primary has. */
async function syncReplica(): Promise<void> {
  const pos = String(await one(primary, 'SELECT @@gtid_binlog_pos'));
  expect(Number(await one(replica, 'SELECT MASTER_GTID_WAIT(?, 10)', [pos]))).toBe(0);
}

async function money(consistency: 'strong' | 'session' | 'eventual', session = db as Pick<Cluster, 'characters'>) {
  return (await session.characters.get(characterId, { consistency })).money;
}

beforeAll(async () => {
  t = await startTestCluster({
    shards: 1,
    replicasPerShard: 1,
    config: { replicas: { monitorIntervalMs: 600_000, gtidWaitTimeoutMs: 200, maxLagMs: 2_000 } },
  });
  db = t.db;
  primary = await t.sql('alpha-primary');
  replica = await t.sql('alpha-replica-1');
  globalPrimary = await t.sql('global-primary');
  ({ accountId } = await db.accounts.register({ username: 'trinity', email: 'trinity@zion.test', password: 'follow-the-rabbit' }));
  ({ characterId } = await db.characters.create({ accountId, name: 'Trinity', archetype: 'hacker', gender: 'female', districtId: 1 }));
  await db.characters.adjustMoney(characterId, 1000, 'quest_reward');
  await syncReplica();
});

afterAll(async () => {
  await replica?.query('START SLAVE').catch(() => {});
  await t?.stop();
});

describe('replica reads (1 shard, primary + replica)', () => {
  it('records the GTID of every write in the session, per shard, and in its token', async () => {
    const before = db.token();
    const state = ReadSession.fromToken(before);
    // Creating the character wrote global (directory) and alpha (the row): both are recorded.
    expect(state.positionOn('global')).toBe(String(await one(globalPrimary, 'SELECT @@gtid_binlog_pos')));
    expect(state.positionOn('alpha')).toBe(String(await one(primary, 'SELECT @@gtid_binlog_pos')));

    await db.characters.adjustMoney(characterId, 1, 'quest_reward');
    const after = db.token();
    expect(after).not.toBe(before);
    const position = ReadSession.fromToken(after).positionOn('alpha');
    expect(position).toBe(String(await one(primary, 'SELECT @@gtid_binlog_pos')));
    expect(Number(position!.split('-')[2])).toBeGreaterThan(Number(state.positionOn('alpha')!.split('-')[2]));
    expect(ReadSession.fromToken(after).positionOn('global')).toBe(state.positionOn('global'));

    // A token round-trips through a string; sessions record only their own writes.
    expect(db.session(after).token()).toBe(after);
    const player = db.session();
    expect(ReadSession.fromToken(player.token()).positionOn('alpha')).toBeUndefined();
    await player.characters.adjustMoney(characterId, 1, 'quest_reward');
    expect(ReadSession.fromToken(player.token()).positionOn('alpha')).toBe(String(await one(primary, 'SELECT @@gtid_binlog_pos')));
    expect(db.token()).toBe(after);

    expect(() => ReadSession.fromToken('')).toThrow(ValidationError);
    for (const bad of ['mxo1.', 'mxo2.e30', `mxo1.${Buffer.from('{"alpha":"0-1-x"}').toString('base64url')}`, `mxo1.${Buffer.from('[1]').toString('base64url')}`]) {
      expect(() => db.session(bad)).toThrow(ValidationError);
    }
  });

  it('eventual reads are served by the healthy replica (Com_select on each server)', async () => {
    await syncReplica();
    const n = 100;
    const before = { primary: await comSelect(primary), replica: await comSelect(replica), reads: await metric('mxo_reads_total', { role: 'replica', consistency: 'eventual' }) };
    for (let i = 0; i < n; i++) await money('eventual');
    const eventual = { primary: (await comSelect(primary)) - before.primary, replica: (await comSelect(replica)) - before.replica };
    // Each character read is one SELECT (the row itself proves the character lives there).
    expect(eventual.replica).toBeGreaterThanOrEqual(n);
    expect(eventual.primary).toBeLessThan(n / 10);
    expect((await metric('mxo_reads_total', { role: 'replica', consistency: 'eventual' })) - before.reads).toBe(n);

    // The same reads at strong consistency land on the primary instead: the counters tell them apart.
    const strongBefore = { primary: await comSelect(primary), replica: await comSelect(replica) };
    for (let i = 0; i < n; i++) await money('strong');
    expect((await comSelect(primary)) - strongBefore.primary).toBeGreaterThanOrEqual(n);
    expect((await comSelect(replica)) - strongBefore.replica).toBeLessThan(n / 10);
  });

  for (const how of ['applier stopped (STOP SLAVE SQL_THREAD)', 'applier blocked by a row lock held on the replica'] as const) {
    it(`${how}: session reads see the write, eventual reads get the replica's old value`, async () => {
      await syncReplica();
      const old = await money('strong');
      let locker: mysql.Connection | undefined;
      if (how.startsWith('applier stopped')) {
        await replica.query('STOP SLAVE SQL_THREAD');
      } else {
        locker = await t.sql('alpha-replica-1');
        await locker.query('BEGIN');
        await locker.query('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [characterId]);
      }
      try {
        const timeouts = await metric('mxo_replica_fallbacks_total', { reason: 'gtid_wait_timeout' });
        const { money: written } = await db.characters.adjustMoney(characterId, 7, 'quest_reward');
        expect(written).toBe(old + 7);
        const gtid = ReadSession.fromToken(db.token()).positionOn('alpha')!;
        // The replica really is behind the write, with its threads running when only blocked.
        expect(Number(await one(replica, 'SELECT MASTER_GTID_WAIT(?, 0.05)', [gtid]))).toBe(-1);
        const [[status]] = await replica.query<RowDataPacket[]>('SHOW SLAVE STATUS');
        expect(status!.Slave_SQL_Running).toBe(locker ? 'Yes' : 'No');

        // This session wrote it here: read from the primary without waiting on the replica.
        expect(await money('session')).toBe(old + 7);
        // The same session continued from its token: waits on the replica, times out, reads the primary.
        expect(await money('session', db.session(db.token()))).toBe(old + 7);
        expect((await metric('mxo_replica_fallbacks_total', { reason: 'gtid_wait_timeout' })) - timeouts).toBe(1);
        // A session that wrote nothing does not wait, and eventual reads take the replica as it is.
        expect(await money('session', db.session())).toBe(old);
        expect(await money('eventual')).toBe(old);
        const list = await db.characters.listByAccount(accountId, { consistency: 'eventual' });
        expect(list.find((c) => c.characterId === characterId)?.money).toBe(old);
        expect(await money('strong')).toBe(old + 7);
      } finally {
        if (locker) await locker.query('ROLLBACK');
        else await replica.query('START SLAVE SQL_THREAD');
      }
      await syncReplica();
      expect(await money('eventual')).toBe(old + 7);
    });
  }

  it('session reads run on the replica once it has the write; a continued session waits there for it', async () => {
    await syncReplica();
    const player = db.session();
    const served = (role: string) => metric('mxo_reads_total', { role, consistency: 'session' });
    const waits = () => metric('mxo_replica_gtid_wait_seconds_count');

    // Right after its own write: the primary (no replica can have it yet).
    const { money: m1 } = await player.characters.adjustMoney(characterId, 3, 'quest_reward');
    let primaryReads = await served('primary');
    expect(await money('session', player)).toBe(m1);
    expect((await served('primary')) - primaryReads).toBe(1);

    // The lag monitor learns in the background when the replica applies it; then the replica
    // serves the session without a GTID wait.
    const gtid = ReadSession.fromToken(player.token()).positionOn('alpha')!;
    expect(Number(await one(replica, 'SELECT MASTER_GTID_WAIT(?, 5)', [gtid]))).toBe(0);
    let replicaReads = await served('replica');
    const waited = await waits();
    const deadline = Date.now() + 5_000;
    while ((await served('replica')) === replicaReads && Date.now() < deadline) {
      primaryReads = await served('primary');
      expect(await money('session', player)).toBe(m1);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await served('replica')) - replicaReads).toBe(1);
    expect(await waits()).toBe(waited);

    // A session continued from a token (as in another process) right after a write: the replica
    // is asked to wait for the position, and serves the read.
    const { money: m2 } = await player.characters.adjustMoney(characterId, 4, 'quest_reward');
    replicaReads = await served('replica');
    primaryReads = await served('primary');
    expect(await money('session', db.session(player.token()))).toBe(m2);
    expect((await served('replica')) - replicaReads).toBe(1);
    expect((await served('primary')) - primaryReads).toBe(0);
  });

  it('a token continues the session in another process: its session read sees the write while the applier is stopped', async () => {
    await syncReplica();
    const old = await money('strong');
    // The child opens its own cluster from the sandbox's cluster.json, warms up until its
    // eventual reads are served by the replica, says "ready", then reads one token from stdin.
    const script = `
      import { readFileSync } from 'node:fs';
      import { createInterface } from 'node:readline';
      import { openCluster } from ${JSON.stringify(INDEX)};
      const config = JSON.parse(readFileSync(process.argv[1], 'utf8'));
      const id = Number(process.argv[2]);
      const db = await openCluster({ ...config, recovery: { intervalMs: 0 },
        replicas: { monitorIntervalMs: 600000, gtidWaitTimeoutMs: 300, maxLagMs: 2000 } });
      const count = async (name, labels) => (await db.metrics.getSingleMetric(name).get()).values
        .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
      const deadline = Date.now() + 20000;
      while ((await count('mxo_reads_total', { role: 'replica', consistency: 'eventual' })) === 0) {
        if (Date.now() > deadline) throw new Error('the replica never served a read');
        await db.characters.get(id, { consistency: 'eventual' });
        await new Promise((r) => setTimeout(r, 20));
      }
      console.log('ready');
      const lines = createInterface({ input: process.stdin });
      for await (const token of lines) {
        const eventual = (await db.session().characters.get(id, { consistency: 'eventual' })).money;
        const session = (await db.session(token.trim()).characters.get(id, { consistency: 'session' })).money;
        const timeouts = await count('mxo_replica_fallbacks_total', { reason: 'gtid_wait_timeout' });
        console.log(JSON.stringify({ eventual, session, timeouts }));
        break;
      }
      process.stdin.destroy();
      await db.close();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, t.configPath, String(characterId)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitFor = async (check: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!check() && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      return check();
    };
    try {
      expect(await waitFor(() => out.includes('ready\n'), 45_000), `child not ready: ${out} ${err}`).toBe(true);
      await replica.query('STOP SLAVE SQL_THREAD');
      const player = db.session();
      const { money: written } = await player.characters.adjustMoney(characterId, 13, 'quest_reward');
      expect(written).toBe(old + 13);
      const token = player.token();
      expect(typeof token).toBe('string');
      child.stdin.end(`${token}\n`);
      expect(await waitFor(() => out.trim().split('\n').length >= 2, 30_000), `child answered nothing: ${out} ${err}`).toBe(true);
      const answer = JSON.parse(out.trim().split('\n').at(-1)!) as { eventual: number; session: number; timeouts: number };
      expect(answer).toEqual({ eventual: old, session: old + 13, timeouts: 1 });
      expect(await exited, err).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await replica.query('START SLAVE SQL_THREAD');
    }
    await syncReplica();
  }, 90_000);
});
