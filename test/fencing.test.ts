/**
 * Fencing of character writes by the presence claim (the router checks the token under the
 * character's row lock), on real servers:
 * - a server whose claim was taken over (or released) is refused (PresenceLostError) for money,
 *   items, missions and a trade, and nothing is written; the new holder's token works;
 * - with `presence.requireFencing`, a character write without a token is refused before SQL;
 * - characters.setOnline goes through presence; archiveInactive skips a held character.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, PresenceHeldError, PresenceLostError, ValidationError, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;
let templateId: number;
let n = 0;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  ({ accountId } = await t.db.accounts.register({ username: 'fencing', email: 'fencing@example.com', password: 'password123' }));
  templateId = await t.db.items.defineTemplate({ itemName: 'Fenced Widget', itemType: 'misc', isTradeable: true });
});

afterAll(async () => {
  await t?.stop();
});

async function character(districtId: number, money = 1_000): Promise<number> {
  const { characterId } = await t.db.characters.create({ accountId, name: `Fenced${n++}`, archetype: 'hacker', gender: 'female', districtId });
  if (money > 0) await t.db.characters.adjustMoney(characterId, money, 'admin_grant');
  return characterId;
}

async function rows(node: string, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [r] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
  return r;
}

/** Server B takes the character over from server A (a handoff ticket naming A's claim). */
async function takeOver(characterId: number, tokenA: number, districtId: number): Promise<number> {
  const { ticket } = await t.db.presence.issueHandoff({ accountId, characterId, serverId: 'server-b', districtId, fencingToken: tokenA });
  return (await t.db.presence.consumeHandoff(ticket, 'server-b')).claim.fencingToken;
}

describe('a server whose claim was taken over', () => {
  it('is refused for money, items, missions and a trade; nothing is written; the new holder writes', async () => {
    const x = await character(1);
    const y = await character(4); // on the other shard: the trade is two-phase
    const missionId = await t.db.missions.defineTemplate({
      missionName: 'Fenced errand',
      missionType: 'side',
      objectives: [{ description: 'Do it', required: 1 }],
      moneyReward: 50,
    });
    const a = await t.db.presence.claim(x, { serverId: 'server-a', districtId: 1 });
    // While A holds the claim its token works.
    await t.db.characters.adjustMoney(x, 10, 'admin_grant', { fencingToken: a.fencingToken });
    await t.db.missions.accept(x, missionId, { fencingToken: a.fencingToken });
    await t.db.missions.progress(x, missionId, 0, 1, { fencingToken: a.fencingToken });
    const item = await t.db.inventory.grant(x, { templateId }, { fencingToken: a.fencingToken });

    const b = await takeOver(x, a.fencingToken, 1);
    expect(b).toBeGreaterThan(a.fencingToken);
    const stale = { fencingToken: a.fencingToken };
    const before = {
      money: (await t.db.characters.get(x))!.money,
      items: (await t.db.inventory.list(x, { consistency: 'strong' })).length,
      trades: (await rows('alpha-primary', 'SELECT COUNT(*) AS c FROM trade_sessions'))[0]!.c,
    };

    await expect(t.db.characters.adjustMoney(x, 500, 'quest_reward', stale)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(t.db.inventory.grant(x, { templateId }, stale)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(t.db.missions.complete(x, missionId, stale)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(
      t.db.trades.execute({ initiator: { characterId: x, money: 100, itemIds: [item.itemId] }, recipient: { characterId: y } }, stale),
    ).rejects.toBeInstanceOf(PresenceLostError);

    expect((await t.db.characters.get(x))!.money).toBe(before.money);
    expect((await t.db.inventory.list(x, { consistency: 'strong' })).length).toBe(before.items);
    expect((await t.db.missions.list(x, { consistency: 'strong' })).find((m) => m.missionId === missionId)?.status).not.toBe('completed');
    expect((await rows('alpha-primary', 'SELECT COUNT(*) AS c FROM trade_sessions'))[0]!.c).toBe(before.trades);
    expect((await t.db.characters.get(y))!.money).toBe(1_000);

    // The new holder's token writes.
    await t.db.characters.adjustMoney(x, 5, 'admin_grant', { fencingToken: b });
    await t.db.missions.complete(x, missionId, { fencingToken: b });
    await t.db.trades.execute({ initiator: { characterId: x, money: 1 }, recipient: { characterId: y } }, { fencingToken: b });

    // Released: the last token is stale too.
    await t.db.presence.release(x, b);
    await expect(t.db.characters.adjustMoney(x, 1, 'admin_grant', { fencingToken: b })).rejects.toBeInstanceOf(PresenceLostError);
  });

  it('refuses a malformed token before any SQL', async () => {
    const x = await character(2, 0);
    const error = await t.db.characters.adjustMoney(x, 1, 'admin_grant', { fencingToken: -3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields).toEqual(['fencingToken']);
  });
});

describe('presence.requireFencing', () => {
  let strict: Cluster;

  beforeAll(async () => {
    strict = await openCluster({ ...t.config, presence: { requireFencing: true } });
  });

  afterAll(async () => {
    await strict?.close();
  });

  it('refuses a character write without a token, naming the field, and writes nothing; a token passes', async () => {
    const x = await character(1, 100);
    const expectRefused = async (call: Promise<unknown>) => {
      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fields).toEqual(['fencingToken']);
    };
    await expectRefused(strict.characters.adjustMoney(x, 10, 'admin_grant'));
    await expectRefused(strict.inventory.grant(x, { templateId }));
    await expectRefused(strict.factions.adjustStanding(x, 'zion', 5));
    await expectRefused(strict.world.updatePosition(x, { x: 1, y: 2, z: 3 }));
    expect((await t.db.characters.get(x))!.money).toBe(100);
    expect(await t.db.inventory.list(x, { consistency: 'strong' })).toEqual([]);

    // Presence itself needs no token; with the claim's token the writes pass.
    const claim = await strict.presence.claim(x, { serverId: 'server-a', districtId: 1 });
    await strict.characters.adjustMoney(x, 10, 'admin_grant', { fencingToken: claim.fencingToken });
    await strict.inventory.grant(x, { templateId }, { fencingToken: claim.fencingToken });
    expect((await t.db.characters.get(x))!.money).toBe(110);
    await strict.presence.release(x, claim.fencingToken);
  });
});

describe('the online flag and archiving go through presence', () => {
  it('setOnline takes and releases a claim, and is refused while another server holds the character', async () => {
    const held = await character(1, 0);
    const claim = await t.db.presence.claim(held, { serverId: 'server-a', districtId: 1 });
    await expect(t.db.characters.setOnline(held, true)).rejects.toBeInstanceOf(PresenceHeldError);
    await expect(t.db.characters.setOnline(held, false)).rejects.toBeInstanceOf(PresenceHeldError);
    expect((await t.db.presence.whereIs([held]))[0]).toMatchObject({ serverId: 'server-a' });
    await t.db.presence.release(held, claim.fencingToken);

    const free = await character(4, 0);
    const on = await t.db.characters.setOnline(free, true);
    expect(on.changed).toBe(true);
    expect(on.fencingToken).toBeGreaterThan(0);
    expect((await t.db.presence.whereIs([free]))[0]).toMatchObject({ serverId: 'set-online', districtId: 4 });
    expect((await t.db.characters.setOnline(free, true)).changed).toBe(false);
    expect((await t.db.characters.setOnline(free, false)).changed).toBe(true);
    expect((await t.db.presence.whereIs([free]))[0]).toBeNull();
    expect((await rows('beta-primary', 'SELECT is_online FROM characters WHERE character_id = ?', [free]))[0]!.is_online).toBe(0);
  });

  it('archiveInactive skips a character a server holds, whatever is_online says', async () => {
    const held = await character(2, 0);
    const claim = await t.db.presence.claim(held, { serverId: 'server-a', districtId: 2 });
    // Looks inactive by the old rule: offline flag, last login long ago.
    await rows('alpha-primary', 'UPDATE characters SET is_online = FALSE, last_login = NOW() - INTERVAL 400 DAY WHERE character_id = ?', [held]);
    expect((await t.db.characters.archiveInactive(365)).archived).not.toContain(held);
    expect(await t.db.characters.get(held)).not.toBeNull();
    await t.db.presence.release(held, claim.fencingToken);
    expect((await t.db.characters.archiveInactive(365)).archived).toContain(held);
  });
});
