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
  // No timer flushes: a buffered write stays buffered until the test flushes it (the takeover races nothing).
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { writeBehind: { flushIntervalMs: 600_000 } } });
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

/** A character's row by plain SQL, wherever it lives now (two shards). */
async function characterRow(characterId: number): Promise<RowDataPacket> {
  for (const node of ['alpha-primary', 'beta-primary']) {
    const [row] = await rows(node, 'SELECT district_id, money, health, inner_strength FROM characters WHERE character_id = ?', [characterId]);
    if (row) return row;
  }
  throw new Error(`character ${characterId} found on no shard`);
}

async function timesUsed(characterId: number, abilityId: number): Promise<number> {
  for (const node of ['alpha-primary', 'beta-primary']) {
    const [row] = await rows(node, 'SELECT times_used FROM character_abilities WHERE character_id = ? AND ability_id = ?', [characterId, abilityId]);
    if (row) return Number(row.times_used ?? 0);
  }
  return 0;
}

describe('writes outside onCharacter: vitals, ability uses and hardline travel', () => {
  const ABILITY = 2_001;
  let from: number;
  let to: number;

  beforeAll(async () => {
    await t.db.abilities.defineAbility({ abilityId: ABILITY, abilityName: 'Fenced Jump' });
    from = (await t.db.world.defineHardline({ districtId: 1, hardlineName: 'Fenced Park', position: { x: 0, y: 0, z: 0 }, connectionCost: 7 })).hardlineId;
    to = (await t.db.world.defineHardline({ districtId: 4, hardlineName: 'Fenced Pier', position: { x: 0, y: 0, z: 0 } })).hardlineId;
  });

  it('a taken-over claim is refused when the write is made: nothing written', async () => {
    const x = await character(1);
    await t.db.abilities.learn(x, ABILITY);
    const a = await t.db.presence.claim(x, { serverId: 'server-a', districtId: 1 });
    // While A holds the claim its token works.
    await t.db.characters.updateVitals(x, { health: 90 }, { fencingToken: a.fencingToken });
    await t.db.abilities.use(x, ABILITY, { fencingToken: a.fencingToken });
    await t.db.world.flush();
    expect(Number((await characterRow(x)).health)).toBe(90);
    expect(await timesUsed(x, ABILITY)).toBe(1);

    await takeOver(x, a.fencingToken, 1);
    const stale = { fencingToken: a.fencingToken };
    const before = await characterRow(x);
    await expect(t.db.characters.updateVitals(x, { health: 10 }, stale)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(t.db.abilities.use(x, ABILITY, stale)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(t.db.world.useHardline(x, from, to, stale)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(t.db.characters.moveToDistrict(x, 2, stale)).rejects.toBeInstanceOf(PresenceLostError);
    await t.db.world.flush();

    expect(await characterRow(x)).toEqual(before); // same district (and shard), money, vitals
    expect(await timesUsed(x, ABILITY)).toBe(1);
    const [hardline] = await rows('alpha-primary', 'SELECT usage_count FROM hardlines WHERE hardline_id = ?', [from]);
    expect(Number(hardline!.usage_count)).toBe(0);
  });

  it('a write accepted before a takeover does not land when flushed after it', async () => {
    const x = await character(1);
    await t.db.abilities.learn(x, ABILITY);
    const a = await t.db.presence.claim(x, { serverId: 'server-a', districtId: 1 });
    await t.db.world.flush();
    const before = await characterRow(x);
    // Accepted (A still holds the claim), still buffered when B takes over.
    await t.db.characters.updateVitals(x, { health: 5, innerStrength: 5 }, { fencingToken: a.fencingToken });
    await t.db.abilities.use(x, ABILITY, { fencingToken: a.fencingToken });
    const b = await takeOver(x, a.fencingToken, 1);
    await t.db.world.flush();
    expect(await characterRow(x)).toEqual(before);
    expect(await timesUsed(x, ABILITY)).toBe(0);

    // The new holder's writes land; its trip moves the character and charges the fare.
    await t.db.characters.updateVitals(x, { health: 50 }, { fencingToken: b });
    await t.db.abilities.use(x, ABILITY, { fencingToken: b });
    await t.db.world.flush();
    expect(Number((await characterRow(x)).health)).toBe(50);
    expect(await timesUsed(x, ABILITY)).toBe(1);
    const moved = await t.db.world.useHardline(x, from, to, { fencingToken: b });
    expect(moved).toMatchObject({ districtId: 4, movedShards: true, cost: 7 });
    expect(Number((await characterRow(x)).district_id)).toBe(4);
  });

  it('a token read in the last second is not read again; a takeover by another process is then caught at the flush', async () => {
    const x = await character(1);
    await t.db.abilities.learn(x, ABILITY);
    const a = await t.db.presence.claim(x, { serverId: 'server-a', districtId: 1 });
    await t.db.world.flush();
    const selects = async () => Number((await rows('alpha-primary', "SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'"))[0]!.Value);
    const before = await selects();
    for (let i = 0; i < 20; i++) await t.db.abilities.use(x, ABILITY, { fencingToken: a.fencingToken });
    // One token read for twenty uses (the flush timer is off: nothing else runs statements here).
    expect((await selects()) - before).toBeLessThanOrEqual(2);
    await t.db.world.flush();
    expect(await timesUsed(x, ABILITY)).toBe(20);

    // Another process (its own cluster object) takes the character over; this one still knows A's
    // token for up to a second and accepts, but the flush writes nothing under it.
    const other = await openCluster(t.config);
    try {
      const { ticket } = await other.presence.issueHandoff({ accountId, characterId: x, serverId: 'server-b', districtId: 1, fencingToken: a.fencingToken });
      await other.presence.consumeHandoff(ticket, 'server-b');
    } finally {
      await other.close();
    }
    const health = Number((await characterRow(x)).health);
    await t.db.characters.updateVitals(x, { health: 3 }, { fencingToken: a.fencingToken }).catch((e: unknown) => {
      expect(e).toBeInstanceOf(PresenceLostError); // refused at once when the second has passed
    });
    await t.db.abilities.use(x, ABILITY, { fencingToken: a.fencingToken }).catch((e: unknown) => {
      expect(e).toBeInstanceOf(PresenceLostError);
    });
    await t.db.world.flush();
    expect(Number((await characterRow(x)).health)).toBe(health);
    expect(await timesUsed(x, ABILITY)).toBe(20);
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
    // The writes outside onCharacter: buffered vitals and ability uses, hardline travel, a move.
    const [hardline] = await rows('alpha-primary', 'SELECT hardline_id FROM hardlines WHERE district_id = 1 LIMIT 1');
    await expectRefused(strict.characters.updateVitals(x, { health: 1 }));
    await expectRefused(strict.abilities.use(x, 2_001));
    await expectRefused(strict.world.useHardline(x, Number(hardline?.hardline_id ?? 1), Number(hardline?.hardline_id ?? 1)));
    await expectRefused(strict.characters.moveToDistrict(x, 2));
    await strict.world.flush();
    expect(Number((await characterRow(x)).district_id)).toBe(1);
    expect(Number((await characterRow(x)).health)).not.toBe(1);
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
