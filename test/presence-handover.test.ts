import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandoffInvalidError, PresenceHeldError, PresenceLostError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// presence.handOver: a character crossing from one district server to another. Buffers flush only
// when the library says so (no timer), so what lands on the shard is what the hand-over wrote.
let t: TestCluster;
let accountId: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { writeBehind: { flushIntervalMs: 600_000 } } });
  accountId = (await t.db.accounts.register({ username: 'handover', email: 'handover@zion.example', password: 'handover-pass-1' }))
    .accountId;
}, 120_000);
afterAll(async () => t?.stop());

async function row(node: string, characterId: number): Promise<Record<string, unknown> | undefined> {
  const [rows] = await (
    await t.sql(node)
  ).query<RowDataPacket[]>('SELECT district_id, position_x, presence_token FROM characters WHERE character_id = ?', [characterId]);
  return rows[0];
}

describe('presence.handOver', () => {
  it('flushes the last save, moves the rows across shards, then hands the claim to the target server', async () => {
    const { characterId } = await t.db.characters.create({ accountId, name: 'Crosser', archetype: 'spy', gender: 'male', districtId: 1 });
    const claim = await t.db.presence.claim(characterId, { serverId: 'district-1', districtId: 1 });
    // The last save of the old server, still buffered.
    await t.db.world.updatePosition(characterId, { x: 42, y: 0, z: 0 }, { fencingToken: claim.fencingToken });

    const { ticket, move } = await t.db.presence.handOver(characterId, claim.fencingToken, { serverId: 'district-5', districtId: 5 });
    expect(move).toMatchObject({ shard: 'beta', movedShards: true });
    // The save landed before the rows moved: it is on the new shard, nothing left on the old one.
    expect(await row('beta-primary', characterId)).toMatchObject({ district_id: 5, position_x: 42 });
    expect(await row('alpha-primary', characterId)).toBeUndefined();
    // Until the ticket is consumed the old server still holds the character: nobody else gets in.
    await expect(t.db.presence.claim(characterId, { serverId: 'district-9', districtId: 5 })).rejects.toBeInstanceOf(PresenceHeldError);

    const entry = await t.db.presence.consumeHandoff(ticket, 'district-5');
    expect(entry).toMatchObject({ accountId, characterId, districtId: 5 });
    expect((await t.db.presence.whereIs([characterId]))[0]).toMatchObject({ serverId: 'district-5', districtId: 5 });
    // The old server is fenced off from then on.
    await expect(t.db.presence.assertHolder(characterId, claim.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
  });

  it('refuses a server whose claim is gone, before moving anything', async () => {
    const { characterId } = await t.db.characters.create({ accountId, name: 'Stayer', archetype: 'spy', gender: 'male', districtId: 2 });
    const claim = await t.db.presence.claim(characterId, { serverId: 'district-2', districtId: 2 });
    await t.db.presence.release(characterId, claim.fencingToken);
    await expect(t.db.presence.handOver(characterId, claim.fencingToken, { serverId: 'district-4', districtId: 4 })).rejects.toBeInstanceOf(
      PresenceLostError,
    );
    expect(await row('alpha-primary', characterId)).toMatchObject({ district_id: 2 });
  });

  it('refuses a ticket whose claim moved after it was issued, even on the server the claim moved to (claim_moved)', async () => {
    const { characterId } = await t.db.characters.create({ accountId, name: 'Twice', archetype: 'spy', gender: 'male', districtId: 1 });
    const claim = await t.db.presence.claim(characterId, { serverId: 'district-1', districtId: 1 });
    // Two tickets from the same claim, both for district-3: the first one consumed moves the claim there.
    const to = { accountId, characterId, serverId: 'district-3', districtId: 3, fencingToken: claim.fencingToken };
    const first = await t.db.presence.issueHandoff(to);
    const second = await t.db.presence.issueHandoff(to);
    const entry = await t.db.presence.consumeHandoff(first.ticket, 'district-3');
    expect(entry.claim.fencingToken).toBeGreaterThan(claim.fencingToken);
    // The second names a claim that is no longer the live one: refused, and the claim is untouched.
    const refused = await t.db.presence.consumeHandoff(second.ticket, 'district-3').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HandoffInvalidError);
    expect(refused).toMatchObject({ reason: 'claim_moved' });
    await expect(t.db.presence.assertHolder(characterId, entry.claim.fencingToken)).resolves.toMatchObject({ serverId: 'district-3' });
  });
});
