/**
 * Concurrent spawns and loads share their statements (a login burst: issue 24, enter-world at the
 * cost of a few gets): spawns of characters on one shard in the same turn of the event loop become
 * one statement on that shard and one on global, each part filtered by `character_id IN (...)` and
 * tagged with the character it belongs to. Each caller must still get exactly what its spawn
 * alone returns, with characters of different crews, items, abilities, buddies and factions side
 * by side in one statement, a deleted character's NotFoundError, and an unknown id's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, openCluster, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let alone: Cluster;
const ids: number[] = [];
let deleted: number;

/** Statements of `operation` sent to `shard` so far (mxo_queries_total). */
async function statements(handle: Cluster, shard: string, operation: string): Promise<number> {
  const { values } = await handle.metrics.getSingleMetric('mxo_queries_total')!.get();
  return values.filter((v) => v.labels.shard === shard && v.labels.operation === operation).reduce((sum, v) => sum + v.value, 0);
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 1, replicasPerShard: 0 });
  const db = t.db;
  alone = await openCluster({ ...t.config, reads: { coalesce: false } });
  const { accountId } = await db.accounts.register({ username: 'burst', email: 'burst@zion.test', password: 'enter-the-world' });
  for (let i = 0; i < 7; i++) {
    ids.push(
      (
        await db.characters.create({
          accountId,
          name: `Burst${i}`,
          archetype: 'spy',
          gender: i % 2 ? 'male' : 'female',
          districtId: 1 + (i % 3),
        })
      ).characterId,
    );
  }
  const [neo, trinity, morpheus, niobe, ghost, link] = ids as [number, number, number, number, number, number];
  // Different content per character, so a row given to the wrong owner changes someone's spawn.
  const goid = 0x8a0f0099;
  await db.items.defineTemplate({ itemName: 'Coat', itemType: 'clothing', itemSubtype: 'coat', clientObjectId: goid });
  await db.inventory.grantByClientId(neo, goid, { slot: 3, count: 1, purity: 120 });
  await db.inventory.grantByClientId(neo, goid, { slot: 1, count: 2, purity: 90 });
  await db.inventory.grantByClientId(morpheus, goid, { slot: 7, count: 1, purity: 200 });
  const { abilityId } = await db.abilities.defineAbility({ abilityId: 0x80000099, abilityName: 'Evade' });
  await db.abilities.learn(trinity, abilityId);
  await db.abilities.setLoadout(trinity, [{ slot: 4, abilityId, loaded: true }]);
  await db.factions.adjustReputation(niobe, 'niobe', 40);
  await db.factions.adjustReputation(neo, 'epn', 5);
  for (const [who, side] of [
    [neo, 'zion'],
    [trinity, 'zion'],
    [morpheus, 'zion'],
    [ghost, 'machine'],
  ] as const) {
    await db.characters.setFaction(who, side);
  }
  const { crewId } = await db.crews.create({ captainId: neo, crewName: 'Nebuchadnezzar' });
  await db.crews.join(crewId, trinity);
  const logos = (await db.crews.create({ captainId: morpheus, crewName: 'Logos' })).crewId;
  await db.organizations.createFromCrews({ name: 'Zion Guard', crewIds: [crewId, logos], masterId: neo });
  await db.crews.create({ captainId: ghost, crewName: 'Vigilant' });
  await db.social.addBuddy(neo, 'Burst1');
  await db.social.addBuddy(neo, 'Burst2');
  await db.social.addBuddy(link, 'Burst0');
  await db.world.defineHardline({ districtId: 3, hardlineName: 'Park', position: { x: 1, y: 2, z: 3 }, hardlineNumber: 3, yaw: 0 });
  await db.world.discoverHardline(link, 3, 3);
  deleted = ids[6]!;
  await db.characters.delete(deleted);
});

afterAll(async () => {
  await alone?.close();
  await t?.stop();
});

describe('coalesced spawns and loads', () => {
  it('concurrent spawns share one statement per node, and each returns what its spawn alone returns', async () => {
    const live = ids.slice(0, 6);
    const expected = [];
    for (const id of live) expected.push(await alone.characters.spawn(id, { consistency: 'strong' }));
    // Each character really differs (the comparison below would not see rows given to the wrong owner otherwise).
    expect(expected[0]!.inventory.map((i) => i.slot)).toEqual([3, 1]); // by item id
    expect(expected[0]!.buddies.map((b) => b.name)).toEqual(['Burst1', 'Burst2']);
    expect(expected[1]!.loadout).toEqual([{ slot: 4, abilityId: 0x80000099, loaded: true }]);
    expect(expected[4]!.crew?.name).toBe('Vigilant');
    expect(expected[5]!.knownHardlines).toEqual([{ districtId: 3, hardlineNumber: 3 }]);

    const db = t.db;
    await db.characters.spawn(ids[0]!, { consistency: 'strong' }); // routes cached: the burst below reads no directory
    const before = {
      shard: await statements(db, 'alpha', 'character_spawn'),
      global: await statements(db, 'global', 'character_spawn_global'),
    };
    const got = await Promise.all(live.map((id) => db.characters.spawn(id, { consistency: 'strong' })));
    expect(got).toEqual(expected);
    expect((await statements(db, 'alpha', 'character_spawn')) - before.shard).toBe(1);
    expect((await statements(db, 'global', 'character_spawn_global')) - before.global).toBe(1);
  });

  it('concurrent loads share one statement per node, and each returns what its load alone returns', async () => {
    const live = ids.slice(0, 6);
    const expected = [];
    for (const id of live) expected.push(await alone.characters.load(id, { consistency: 'strong' }));
    expect(expected[0]!.inventory).toHaveLength(2);
    expect(expected[1]!.crew?.crewName).toBe('Nebuchadnezzar');
    const db = t.db;
    const before = {
      shard: await statements(db, 'alpha', 'character_load'),
      global: await statements(db, 'global', 'character_load_memberships'),
    };
    const got = await Promise.all(live.map((id) => db.characters.load(id, { consistency: 'strong' })));
    expect(got).toEqual(expected);
    expect((await statements(db, 'alpha', 'character_load')) - before.shard).toBe(1);
    expect((await statements(db, 'global', 'character_load_memberships')) - before.global).toBe(1);
    const settled = await Promise.allSettled([db.characters.load(deleted), db.characters.load(ids[2]!), db.characters.load(9_000_321)]);
    expect(settled.map((r) => (r.status === 'rejected' ? r.reason.constructor.name : 'ok'))).toEqual([
      'NotFoundError',
      'ok',
      'NotFoundError',
    ]);
  });

  it('in a burst, a deleted character and an unknown id are NotFoundError and the others are unaffected', async () => {
    const db = t.db;
    const results = await Promise.allSettled([
      db.characters.spawn(ids[0]!, { consistency: 'strong' }),
      db.characters.spawn(deleted, { consistency: 'strong' }),
      db.characters.spawn(9_000_123, { consistency: 'strong' }),
      db.characters.spawn(ids[3]!, { consistency: 'strong' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError);
    expect((results[0] as PromiseFulfilledResult<{ characterId: number }>).value.characterId).toBe(ids[0]);
    expect(
      (results[3] as PromiseFulfilledResult<{ reputations: { reputations: Record<string, number> } }>).value.reputations.reputations.niobe,
    ).toBe(40);
  });
});
