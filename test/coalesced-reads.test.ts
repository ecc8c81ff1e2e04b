/**
 * Coalesced point reads against real servers (2 shards, each primary + replica, plus global):
 * concurrent `characters.get` calls on a shard become one `WHERE character_id IN (...)` statement
 * (counted by mxo_queries_total), each caller still getting its own character or NotFoundError,
 * with the consistency rules of a single get: a moved character (stale cached route) is found on
 * its new shard, a session read sees its own write while the replica is stopped, eventual reads
 * really run on the replica. `getMany` returns input order with null for missing ids.
 *
 * The lag monitor checks replicas once after migrate and then not for ten minutes, so a stopped
 * applier stays "healthy" to the router (as in replica-reads.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, NotFoundError, openCluster, ValidationError, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let db: Cluster;
let accountId: number;
/** Characters by shard: name -> id. */
const alpha = new Map<string, number>();
const beta = new Map<string, number>();
const extra: Cluster[] = [];

/** Statements of `operation` sent to `shard` so far (mxo_queries_total, every role and outcome). */
async function statements(handle: Cluster, shard: string, operation = 'character_get'): Promise<number> {
  const m = handle.metrics.getSingleMetric('mxo_queries_total');
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => v.labels.shard === shard && v.labels.operation === operation)
    .reduce((sum, v) => sum + v.value, 0);
}

async function syncReplica(shard: 'alpha' | 'beta'): Promise<void> {
  const primary = await t.sql(`${shard}-primary`);
  const replica = await t.sql(`${shard}-replica-1`);
  const [[{ pos }]] = (await primary.query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
  const [[{ applied }]] = (await replica.query('SELECT MASTER_GTID_WAIT(?, 10) AS applied', [pos])) as unknown as [[{ applied: number }]];
  expect(Number(applied)).toBe(0);
}

async function open(config: Record<string, unknown> = {}): Promise<Cluster> {
  const handle = await openCluster({ ...t.config, ...config });
  extra.push(handle);
  return handle;
}

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 1,
    config: { replicas: { monitorIntervalMs: 600_000, gtidWaitTimeoutMs: 200, maxLagMs: 2_000 } },
  });
  db = t.db;
  ({ accountId } = await db.accounts.register({ username: 'seraph', email: 'seraph@zion.test', password: 'the-oracle-waits' }));
  // Districts 1-3 live on alpha, 4-6 on beta.
  for (let i = 0; i < 10; i++) {
    const name = `Alpha${i}`;
    alpha.set(name, (await db.characters.create({ accountId, name, archetype: 'spy', gender: 'male', districtId: 1 + (i % 3) })).characterId);
  }
  for (let i = 0; i < 5; i++) {
    const name = `Beta${i}`;
    beta.set(name, (await db.characters.create({ accountId, name, archetype: 'hacker', gender: 'female', districtId: 4 })).characterId);
  }
  await syncReplica('alpha');
  await syncReplica('beta');
});

afterAll(async () => {
  for (const shard of ['alpha', 'beta']) await (await t?.sql(`${shard}-replica-1`))?.query('START SLAVE').catch(() => {});
  await Promise.all(extra.map((h) => h.close()));
  await t?.stop();
});

describe('coalesced character reads', () => {
  it('concurrent gets on a shard share one statement; each caller gets its own row or NotFoundError', async () => {
    const everyone = [...alpha, ...beta];
    const missing = [9_000_001, 9_000_002];
    const before = { alpha: await statements(db, 'alpha'), beta: await statements(db, 'beta') };
    // Every character asked twice (the same key twice in one batch), plus ids nobody has.
    const asked = [...everyone.map(([, id]) => id), ...missing, ...everyone.map(([, id]) => id).reverse()];
    const results = await Promise.allSettled(asked.map((id) => db.characters.get(id, { consistency: 'strong' })));
    const after = { alpha: await statements(db, 'alpha'), beta: await statements(db, 'beta') };

    asked.forEach((id, k) => {
      const result = results[k]!;
      if (missing.includes(id)) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError);
        return;
      }
      expect(result.status).toBe('fulfilled');
      const character = (result as PromiseFulfilledResult<Awaited<ReturnType<Cluster['characters']['get']>>>).value;
      const name = everyone.find(([, cid]) => cid === id)![0];
      expect(character).toMatchObject({ characterId: id, characterName: name, shard: alpha.has(name) ? 'alpha' : 'beta' });
    });
    // 30 gets of 15 characters: statements of up to 8 ids (reads.maxBatch's default), so 2 for
    // alpha's 10 and 1 for beta's 5 (the missing ids stop at the directory).
    expect(after.alpha - before.alpha).toBe(2);
    expect(after.beta - before.beta).toBe(1);
  });

  it('a character moved by another process (stale cached route) is found on its new shard, in a batch with others', async () => {
    const moverId = alpha.get('Alpha9')!;
    expect((await db.characters.get(moverId, { consistency: 'strong' })).shard).toBe('alpha'); // route cached
    const other = await open();
    expect(await other.characters.moveToDistrict(moverId, 5)).toMatchObject({ shard: 'beta', movedShards: true });
    await syncReplica('alpha');
    await syncReplica('beta');
    for (const consistency of ['strong', 'eventual', 'session'] as const) {
      const ids = [...alpha.values()];
      const got = await Promise.all(ids.map((id) => db.characters.get(id, { consistency })));
      got.forEach((c, k) => expect(c.characterId).toBe(ids[k]));
      expect(got.find((c) => c.characterId === moverId)).toMatchObject({ shard: 'beta', districtId: 5, characterName: 'Alpha9' });
      expect(got.filter((c) => c.characterId !== moverId).every((c) => c.shard === 'alpha')).toBe(true);
      // Move it back for the next level: the cached route is stale again.
      expect(await other.characters.moveToDistrict(moverId, 2)).toMatchObject({ shard: 'alpha' });
      await syncReplica('alpha');
      await syncReplica('beta');
      expect((await db.characters.get(moverId, { consistency: 'strong' })).shard).toBe('alpha');
      expect(await other.characters.moveToDistrict(moverId, 5)).toMatchObject({ shard: 'beta' });
      await syncReplica('alpha');
      await syncReplica('beta');
    }
  });

  it('session reads in a batch see their own write while the replica is stopped; eventual reads get the old value', async () => {
    const replica = await t.sql('alpha-replica-1');
    const targetId = alpha.get('Alpha3')!;
    const ids = [...alpha.values()].filter((id) => id !== alpha.get('Alpha9'));
    await syncReplica('alpha');
    const old = (await db.characters.get(targetId, { consistency: 'strong' })).money;
    await replica.query('STOP SLAVE SQL_THREAD');
    try {
      const player = db.session();
      await player.characters.adjustMoney(targetId, 77, 'quest_reward');
      // This process wrote it (primary at once), and another process continuing from the token
      // (its replica wait times out: the primary).
      for (const reader of [player, db.session(player.token())]) {
        const got = await Promise.all(ids.map((id) => reader.characters.get(id, { consistency: 'session' })));
        got.forEach((c, k) => expect(c.characterId).toBe(ids[k]));
        expect(got.find((c) => c.characterId === targetId)!.money).toBe(old + 77);
      }
      // Mixed in the same turn with eventual reads of the same ids: those run on the stopped replica.
      const [sessionReads, eventualReads] = await Promise.all([
        Promise.all(ids.map((id) => player.characters.get(id, { consistency: 'session' }))),
        Promise.all(ids.map((id) => player.characters.get(id, { consistency: 'eventual' }))),
      ]);
      expect(sessionReads.find((c) => c.characterId === targetId)!.money).toBe(old + 77);
      expect(eventualReads.find((c) => c.characterId === targetId)!.money).toBe(old);
      // Strong and eventual reads of every session share batches, but never each other's.
      const [strongReads, otherEventual] = await Promise.all([
        Promise.all(ids.map((id) => db.characters.get(id, { consistency: 'strong' }))),
        Promise.all(ids.map((id) => player.characters.get(id, { consistency: 'eventual' }))),
      ]);
      expect(strongReads.find((c) => c.characterId === targetId)!.money).toBe(old + 77);
      expect(otherEventual.find((c) => c.characterId === targetId)!.money).toBe(old);
    } finally {
      await replica.query('START SLAVE SQL_THREAD');
    }
    await syncReplica('alpha');
  });

  it('getMany: input order, null for ids that name no character (or a deleted one), typed validation before any SQL', async () => {
    const a0 = alpha.get('Alpha0')!;
    const b1 = beta.get('Beta1')!;
    const deleted = (await db.characters.create({ accountId, name: 'Ghost', archetype: 'spy', gender: 'male', districtId: 2 })).characterId;
    await db.characters.delete(deleted);
    const many = await db.characters.getMany([b1, 9_000_003, a0, deleted, b1], { consistency: 'strong' });
    expect(many.map((c) => c && [c.characterId, c.characterName])).toEqual([[b1, 'Beta1'], null, [a0, 'Alpha0'], null, [b1, 'Beta1']]);
    expect(await db.characters.getMany([])).toEqual([]);
    // Every shard's share in statements of up to 8 ids.
    const ids = [...alpha.values(), ...beta.values()];
    const before = { alpha: await statements(db, 'alpha'), beta: await statements(db, 'beta') };
    const all = await db.characters.getMany(ids, { consistency: 'strong' });
    expect(all.map((c) => c!.characterId)).toEqual(ids);
    expect((await statements(db, 'alpha')) - before.alpha).toBe(2);
    // Alpha9 now lives on beta but this process's cached route still says alpha: alpha's statement
    // misses it, the route is re-resolved, and a second statement on beta reads it.
    expect((await statements(db, 'beta')) - before.beta).toBe(2);
  });

  it('getMany refuses bad ids and bad options naming the field, before any SQL', async () => {
    const before = (await statements(db, 'alpha')) + (await statements(db, 'beta')) + (await statements(db, 'global', 'directory_resolve'));
    const refused = async (call: () => Promise<unknown>, field: string) => {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toContain(field);
    };
    await refused(() => db.characters.getMany([alpha.get('Alpha0')!, -4]), '1');
    await refused(() => db.characters.getMany([alpha.get('Alpha0')!, 1.5 as number]), '1');
    await refused(() => db.characters.getMany('1,2' as never), '');
    await refused(() => db.characters.getMany(Array.from({ length: 1001 }, (_, i) => i + 1)), '');
    await expect(db.characters.getMany([alpha.get('Alpha0')!], { consistency: 'fresh' as never })).rejects.toBeInstanceOf(ValidationError);
    const after = (await statements(db, 'alpha')) + (await statements(db, 'beta')) + (await statements(db, 'global', 'directory_resolve'));
    expect(after).toBe(before);
  });

  it('maxBatch splits a batch; coalesce: false sends one statement per get; bad settings are ConfigErrors', async () => {
    const ids = [...alpha.values()].filter((id) => id !== alpha.get('Alpha9')); // 9 on alpha
    const split = await open({ reads: { maxBatch: 4 } });
    await split.characters.getMany(ids, { consistency: 'strong' }); // routes cached (directory reads)
    let before = await statements(split, 'alpha');
    const got = await split.characters.getMany(ids, { consistency: 'strong' });
    expect(got.map((c) => c!.characterId)).toEqual(ids);
    expect((await statements(split, 'alpha')) - before).toBe(3); // 4 + 4 + 1

    const single = await open({ reads: { coalesce: false } });
    await single.characters.getMany(ids, { consistency: 'strong' });
    before = await statements(single, 'alpha');
    expect((await single.characters.getMany(ids, { consistency: 'strong' })).map((c) => c!.characterId)).toEqual(ids);
    expect((await statements(single, 'alpha')) - before).toBe(ids.length);

    await expect(openCluster({ ...t.config, reads: { maxBatch: 3 } })).rejects.toBeInstanceOf(ConfigError);
    await expect(openCluster({ ...t.config, reads: { coalesce: 'yes' as never } })).rejects.toBeInstanceOf(ConfigError);
  });

  it('IN-lists are padded to powers of two (a bounded set of prepared statements)', async () => {
    const { paddedLength, inList } = await import('../src/pool/in-list.js');
    expect([1, 2, 3, 4, 5, 9, 16, 17, 64].map(paddedLength)).toEqual([1, 2, 4, 4, 8, 16, 16, 32, 64]);
    expect(inList([7, 8, 9]).params).toEqual([7, 8, 9, 9]);
    expect(() => inList([])).toThrow();
  });
});
