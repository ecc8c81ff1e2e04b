import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Buddy lists: friend rows on the owner's shard and the global index of edges written in the same
// transaction; "who has me" answered from global alone; online status from presence claims.
let t: TestCluster;
let accountId: number;
const q = async (node: string, sql: string, params: unknown[] = []) => (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  accountId = (await t.db.accounts.register({ username: 'mouse', email: 'mouse@zion.example', password: 'operator-55' })).accountId;
});
afterAll(async () => t?.stop());

const character = async (name: string, districtId: number) =>
  (await t.db.characters.create({ accountId, name, archetype: 'spy', gender: 'male', districtId })).characterId;

/** The global index equals the shards' friend rows. */
async function indexMatchesRows(): Promise<void> {
  const rows = [
    ...(await q(
      'alpha-primary',
      "SELECT character_id, target_character_id FROM character_relationships WHERE relationship_type = 'friend'",
    )),
    ...(await q(
      'beta-primary',
      "SELECT character_id, target_character_id FROM character_relationships WHERE relationship_type = 'friend'",
    )),
  ].map((r) => `${r.character_id}>${r.target_character_id}`);
  const edges = (await q('global-primary', 'SELECT character_id, buddy_id FROM buddy_edges')).map((r) => `${r.character_id}>${r.buddy_id}`);
  expect(edges.sort()).toEqual(rows.sort());
}

describe('buddy lists', () => {
  it('adds by handle across shards, lists buddies and followers with online status, removes', async () => {
    const neo = await character('Neo', 1);
    const trinity = await character('Trinity', 4);
    const morpheus = await character('Morpheus', 5);

    const added = await t.db.social.addBuddy(neo, 'Trinity');
    expect(added).toMatchObject({ characterId: trinity, handle: 'Trinity', online: false, isMutual: false });
    await t.db.social.addBuddy(morpheus, 'Trinity');
    await indexMatchesRows();
    expect((await t.db.social.followers(trinity)).map((f) => f.handle)).toEqual(['Morpheus', 'Neo']);
    expect(await t.db.social.buddies(trinity)).toEqual([]);

    // Online status follows the presence claim.
    const claim = await t.db.presence.claim(trinity, { serverId: 'district-4', districtId: 4, ttlSec: 30 });
    expect((await t.db.social.buddies(neo, { consistency: 'strong' }))[0]).toMatchObject({
      handle: 'Trinity',
      online: true,
      serverId: 'district-4',
      districtId: 4,
    });
    await t.db.presence.claim(neo, { serverId: 'district-1', districtId: 1 });
    const followers = await t.db.social.followers(trinity, { consistency: 'strong' });
    expect(followers.map((f) => [f.handle, f.online])).toEqual([
      ['Morpheus', false],
      ['Neo', true],
    ]);
    // A claim that lapsed (no heartbeat) is offline, though not yet released.
    await q('global-primary', 'UPDATE presence_claims SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE character_id = ?', [neo]);
    expect((await t.db.social.followers(trinity, { consistency: 'strong' })).map((f) => f.online)).toEqual([false, false]);
    await t.db.presence.release(trinity, claim.fencingToken);
    expect((await t.db.social.buddies(neo, { consistency: 'strong' }))[0]!.online).toBe(false);

    // Mutual on both shards' rows once Trinity adds Neo back.
    expect(await t.db.social.addBuddy(trinity, 'Neo')).toMatchObject({ characterId: neo, isMutual: true });
    expect((await q('alpha-primary', 'SELECT is_mutual FROM character_relationships WHERE character_id = ?', [neo]))[0]!.is_mutual).toBe(1);
    expect((await t.db.social.buddies(neo, { consistency: 'strong' }))[0]!.isMutual).toBe(true);
    await indexMatchesRows();

    expect(await t.db.social.removeBuddy(neo, 'Trinity')).toEqual({ removed: true });
    expect(await t.db.social.removeBuddy(neo, 'Trinity')).toEqual({ removed: false });
    expect((await q('beta-primary', 'SELECT is_mutual FROM character_relationships WHERE character_id = ?', [trinity]))[0]!.is_mutual).toBe(
      0,
    );
    expect((await t.db.social.followers(trinity, { consistency: 'strong' })).map((f) => f.handle)).toEqual(['Morpheus']);
    await indexMatchesRows();

    // "Who has me" read global alone: no shard was asked.
    const series = (await t.db.metrics.metrics())
      .split('\n')
      .filter((l) => l.startsWith('mxo_query_duration_seconds_count') && l.includes('operation="buddy_followers"'));
    expect(series.length).toBeGreaterThan(0);
    expect([...new Set(series.map((l) => /shard="([^"]+)"/.exec(l)![1]))]).toEqual(['global']);
  });

  it('refuses unknown handles and itself with nothing written; the index follows setRelationship and removeRelationship', async () => {
    const tank = await character('Tank', 2);
    const dozer = await character('Dozer', 6);
    await expect(t.db.social.addBuddy(tank, 'Nobody')).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.social.addBuddy(tank, 'Tank')).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.social.buddies(999_999)).rejects.toBeInstanceOf(NotFoundError);
    expect(await t.db.social.buddies(tank)).toEqual([]);

    await t.db.social.setRelationship({ characterId: tank, targetCharacterId: dozer, type: 'friend' });
    expect((await t.db.social.followers(dozer, { consistency: 'strong' })).map((f) => f.characterId)).toEqual([tank]);
    await indexMatchesRows();
    // Turning a buddy into an ignore takes the edge out; removeBuddy leaves an ignore alone.
    await t.db.social.setRelationship({ characterId: tank, targetCharacterId: dozer, type: 'ignore' });
    expect(await t.db.social.followers(dozer, { consistency: 'strong' })).toEqual([]);
    expect(await t.db.social.removeBuddy(tank, 'Dozer')).toEqual({ removed: false });
    expect(
      (await q('alpha-primary', 'SELECT relationship_type FROM character_relationships WHERE character_id = ?', [tank]))[0],
    ).toMatchObject({
      relationship_type: 'ignore',
    });
    await t.db.social.setRelationship({ characterId: tank, targetCharacterId: dozer, type: 'friend' });
    await t.db.social.removeRelationship(tank, dozer);
    await indexMatchesRows();
    expect(await t.db.social.followers(dozer, { consistency: 'strong' })).toEqual([]);

    // A soft-deleted buddy leaves the lists.
    await t.db.social.addBuddy(dozer, 'Tank');
    await t.db.characters.delete(tank);
    expect(await t.db.social.buddies(dozer, { consistency: 'strong' })).toEqual([]);
  });
});
