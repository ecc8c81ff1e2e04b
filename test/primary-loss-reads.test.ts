/**
 * A dead primary does not take its replica's reads down (issue 25): 1 shard (primary + replica)
 * plus global, the lag monitor checking every 100 ms with a 300 ms lag limit. With alpha's primary
 * killed (SIGKILL, not restarted), `eventual` reads and `session` reads of positions the replica
 * holds are served by the replica at once and still after many monitor checks have found the
 * primary gone (well past the lag limit, the window after which a lagging replica is excluded),
 * and the replica's last measured lag is reported, not "unknown" (-1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, DataSession } from '../src/index.js';
import { ShardUnavailableError } from '../src/errors.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const REPLICA = 'alpha-replica-1';
const MAX_LAG_MS = 300;
let t: TestCluster;
let db: Cluster;
let characterId: number;
let player: DataSession;
let money: number;

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = db.metrics.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

const replicaReads = (consistency: string) => metric('mxo_reads_total', { shard: 'alpha', role: 'replica', consistency });
/** The monitor's failed looks at alpha's primary (its position query), every outcome but ok. */
const failedPrimaryChecks = async () =>
  (await metric('mxo_queries_total', { shard: 'alpha', role: 'primary', operation: 'primary_position' })) -
  (await metric('mxo_queries_total', { shard: 'alpha', role: 'primary', operation: 'primary_position', outcome: 'ok' }));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every read a player makes of the character while its primary is gone, each checked served by the replica. */
async function readsServedByReplica(): Promise<void> {
  const token = player.token();
  for (const [consistency, read] of [
    ['eventual', () => db.characters.get(characterId, { consistency: 'eventual' })],
    // This session wrote the position here, and the monitor has seen the replica apply it.
    ['session', () => player.characters.get(characterId, { consistency: 'session' })],
    // The same session continued elsewhere (a token): a GTID wait on the replica, which has it.
    ['session', () => db.session(token).characters.get(characterId, { consistency: 'session' })],
  ] as const) {
    const before = await replicaReads(consistency);
    expect((await read()).money).toBe(money);
    expect(await replicaReads(consistency), `${consistency} read not served by the replica`).toBe(before + 1);
  }
  expect((await db.inventory.list(characterId, { consistency: 'eventual' })).length).toBe(0);
}

beforeAll(async () => {
  t = await startTestCluster({
    shards: 1,
    replicasPerShard: 1,
    config: { replicas: { monitorIntervalMs: 100, maxLagMs: MAX_LAG_MS, gtidWaitTimeoutMs: 200, readTimeoutMs: 2_000 } },
  });
  db = t.db;
  const { accountId } = await db.accounts.register({ username: 'trinity', email: 'trinity@zion.test', password: 'follow-the-white-rabbit' });
  ({ characterId } = await db.characters.create({ accountId, name: 'Trinity', archetype: 'hacker', gender: 'female', districtId: 1 }));
  player = db.session();
  ({ money } = await player.characters.adjustMoney(characterId, 7, 'quest_reward'));
  // The replica has it, and the monitor has checked it since (it knows the replica has applied it).
  await db.waitForReplicas(30_000);
  await until('the replica is healthy', async () => (await metric('mxo_replica_healthy', { node: REPLICA })) === 1);
});

afterAll(async () => {
  await t?.stop();
});

describe('a dead primary (alpha, SIGKILL, not restarted)', () => {
  it('leaves its replica serving eventual and session reads, at once and after many monitor checks, with its last lag', async () => {
    await readsServedByReplica();
    const lagBefore = await metric('mxo_replica_lag_seconds', { node: REPLICA });
    expect(lagBefore).toBeGreaterThanOrEqual(0);

    await t.sandbox.kill('alpha-primary');
    const killedAt = Date.now();
    // At once: before or after the monitor's first look at the dead primary, either way.
    await readsServedByReplica();
    // Writes fail typed (nothing to promote to here: that is failover's job).
    await expect(db.characters.adjustMoney(characterId, 1, 'quest_reward')).rejects.toBeInstanceOf(ShardUnavailableError);

    // Many checks that found the primary gone, well past the lag limit (a state, not a sleep).
    const failedBefore = await failedPrimaryChecks();
    await until(
      'the monitor has looked at the dead primary 10 more times, and 5 lag limits have passed',
      async () => (await failedPrimaryChecks()) >= failedBefore + 10 && Date.now() - killedAt > 5 * MAX_LAG_MS,
    );
    await readsServedByReplica();
    expect(await metric('mxo_replica_healthy', { node: REPLICA })).toBe(1);
    // The last measured lag, not -1 ("unknown", what a stopped receiver thread reports otherwise).
    expect(await metric('mxo_replica_lag_seconds', { node: REPLICA })).toBe(lagBefore);
    const status = await db.status();
    const node = status.nodes.find((n) => n.name === REPLICA)!;
    expect(node.replication?.monitor).toEqual({ servesReads: true, lagMs: lagBefore * 1000 });
    expect(status.problems.some((p) => p.startsWith('alpha-primary is down'))).toBe(true);
  }, 90_000);
});
