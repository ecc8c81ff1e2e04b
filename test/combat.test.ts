import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError, ValidationError, WrongDistrictError, expectedScore, nextRating } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let a: number; // alpha (district 1)
let b: number; // alpha (district 1)
let c: number; // beta (district 4)

const one = async (node: string, sql: string, params: unknown[] = []) => {
  const [rows] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
  return rows[0]!;
};

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const { accountId } = await t.db.accounts.register({ username: 'neo', email: 'neo@zion.example', password: 'redpill-123' });
  a = (await t.db.characters.create({ accountId, name: 'Neo', archetype: 'hacker', gender: 'male', districtId: 1 })).characterId;
  b = (await t.db.characters.create({ accountId, name: 'Smith', archetype: 'spy', gender: 'male', districtId: 1 })).characterId;
  c = (await t.db.characters.create({ accountId, name: 'Trinity', archetype: 'spy', gender: 'female', districtId: 4 })).characterId;
});
afterAll(async () => t?.stop());

const fight = (over: Record<string, unknown> = {}) =>
  t.db.combat.record({
    encounterType: 'pvp',
    initiatorId: a,
    targetId: b,
    targetType: 'player',
    districtId: 1,
    position: { x: 1, y: 2, z: 3 },
    result: 'win',
    winnerId: a,
    damageDealt: 420,
    damageReceived: 180,
    highestHit: 95,
    ...over,
  } as never);

describe('combat.record', () => {
  it('writes the encounter, kills/deaths and both players pvp statistics with an Elo rating, in one transaction', async () => {
    const r = await fight();
    expect(r.shard).toBe('alpha');
    const enc = await one('alpha-primary', 'SELECT * FROM combat_encounters WHERE encounter_id = ?', [r.encounterId]);
    expect(enc).toMatchObject({ encounter_type: 'pvp', encounter_result: 'victory', winner_id: a, target_id: b });
    expect(enc.total_damage_dealt).toEqual({ [a]: 420, [b]: 180 });
    const pa = await one('alpha-primary', 'SELECT * FROM pvp_statistics WHERE character_id = ?', [a]);
    const pb = await one('alpha-primary', 'SELECT * FROM pvp_statistics WHERE character_id = ?', [b]);
    expect(pa).toMatchObject({
      pvp_wins: 1,
      pvp_losses: 0,
      total_pvp_encounters: 1,
      current_win_streak: 1,
      best_win_streak: 1,
      pvp_rating: 1016,
      total_pvp_damage_dealt: 420,
      highest_single_hit: 95,
    });
    expect(pb).toMatchObject({
      pvp_wins: 0,
      pvp_losses: 1,
      current_loss_streak: 1,
      pvp_rating: 984,
      total_pvp_damage_dealt: 180,
      total_pvp_damage_received: 420,
    });
    expect(
      await one('alpha-primary', 'SELECT total_kills, player_kills, total_deaths FROM character_statistics WHERE character_id = ?', [a]),
    ).toMatchObject({ total_kills: 1, player_kills: 1, total_deaths: 0 });
    expect(await one('alpha-primary', 'SELECT total_deaths FROM character_statistics WHERE character_id = ?', [b])).toMatchObject({
      total_deaths: 1,
    });
    expect(r.pvp.find((p) => p.characterId === a)).toMatchObject({ pvpRating: 1016, pvpWins: 1 });
  });

  it('keeps streaks and ratings over several fights; the leaderboard shows them', async () => {
    await fight();
    const sa = await t.db.combat.pvpStats(a);
    expect(sa).toMatchObject({ pvpWins: 2, currentWinStreak: 2, bestWinStreak: 2, pvpRating: nextRating(1016, 984, 'win') });
    await fight({ result: 'loss', winnerId: b });
    const after = await t.db.combat.pvpStats(a);
    expect(after).toMatchObject({ currentWinStreak: 0, currentLossStreak: 1, bestWinStreak: 2, pvpLosses: 1 });
    await fight({ result: 'draw', winnerId: undefined });
    expect((await t.db.combat.pvpStats(a)).pvpDraws).toBe(1);
    const board = await t.db.players.leaderboard({ consistency: 'strong' });
    const mine = board.find((e) => e.characterId === a)!;
    expect(mine.pvpRating).toBe((await t.db.combat.pvpStats(a, { consistency: 'strong' })).pvpRating);
    expect(mine.pvpRating).not.toBe(1000);
  });

  it('updates a player on another shard in the same two-phase commit', async () => {
    const before = await t.db.combat.pvpStats(a, { consistency: 'strong' });
    const r = await fight({ targetId: c, result: 'defeat', winnerId: c, districtId: 4 });
    expect(r.shard).toBe('beta');
    expect(await one('beta-primary', 'SELECT pvp_wins, pvp_rating FROM pvp_statistics WHERE character_id = ?', [c])).toMatchObject({
      pvp_wins: 1,
      pvp_rating: nextRating(1000, before.pvpRating, 'win'),
    });
    expect((await t.db.combat.pvpStats(a, { consistency: 'strong' })).pvpLosses).toBe(before.pvpLosses + 1);
    const history = await t.db.combat.history(a, { consistency: 'strong' });
    expect(new Set(history.map((h) => h.shard))).toEqual(new Set(['alpha', 'beta']));
  });

  it('records PvE kills and deaths without touching pvp statistics', async () => {
    const before = await one('alpha-primary', 'SELECT npc_kills, total_deaths FROM character_statistics WHERE character_id = ?', [b]);
    const pvpBefore = await t.db.combat.pvpStats(b, { consistency: 'strong' });
    await t.db.combat.record({
      encounterType: 'pve',
      initiatorId: b,
      targetType: 'npc',
      districtId: 2,
      position: { x: 0, y: 0, z: 0 },
      result: 'victory',
    });
    await t.db.combat.record({
      encounterType: 'pve',
      initiatorId: b,
      targetType: 'npc',
      districtId: 2,
      position: { x: 0, y: 0, z: 0 },
      result: 'defeat',
    });
    const now = await one('alpha-primary', 'SELECT npc_kills, total_deaths FROM character_statistics WHERE character_id = ?', [b]);
    expect(now.npc_kills).toBe(before.npc_kills + 1);
    expect(now.total_deaths).toBe(before.total_deaths + 1);
    expect(await t.db.combat.pvpStats(b, { consistency: 'strong' })).toEqual(pvpBefore);
  });

  it('an idempotency key makes a retried record count once', async () => {
    const before = await t.db.combat.pvpStats(a, { consistency: 'strong' });
    const first = await fight({ targetId: c, districtId: 4, idempotencyKey: 'fight-1' });
    const again = await fight({ targetId: c, districtId: 4, idempotencyKey: 'fight-1' });
    expect(again.encounterId).toBe(first.encounterId);
    expect((await t.db.combat.pvpStats(a, { consistency: 'strong' })).pvpWins).toBe(before.pvpWins + 1);
    expect(
      Number((await one('beta-primary', 'SELECT COUNT(*) AS n FROM combat_encounters WHERE encounter_id = ?', [first.encounterId])).n),
    ).toBe(1);
  });

  it('refuses bad input before any SQL, and a missing player changes nothing', async () => {
    const count = async () => Number((await one('alpha-primary', 'SELECT COUNT(*) AS n FROM combat_encounters')).n);
    const n = await count();
    await expect(fight({ winnerId: b })).rejects.toBeInstanceOf(ValidationError); // result says a won
    await expect(fight({ targetId: a })).rejects.toBeInstanceOf(ValidationError);
    await expect(fight({ position: { x: Infinity, y: 0, z: 0 } })).rejects.toBeInstanceOf(ValidationError);
    await expect(fight({ targetType: 'npc', targetId: undefined })).rejects.toBeInstanceOf(ValidationError);
    await expect(fight({ targetId: 999_999, winnerId: undefined, result: 'draw' })).rejects.toThrow();
    expect(await count()).toBe(n);
  });

  it('Elo: equal ratings move by K/2, an upset moves more', () => {
    expect(expectedScore(1000, 1000)).toBe(0.5);
    expect(nextRating(1000, 1000, 'win')).toBe(1016);
    expect(nextRating(1000, 1400, 'win') - 1000).toBeGreaterThan(16);
    expect(nextRating(150, 2000, 'loss')).toBe(150 - Math.round(32 * expectedScore(150, 2000)));
  });
});

describe('interlock', () => {
  it('starts, records rounds in order, finishes once and updates every participant once', async () => {
    const { interlockId } = await t.db.interlock.start({ participants: [a, b], districtId: 1, interlockType: 'duel', maxRounds: 2 });
    await t.db.interlock.round(interlockId, { roundNumber: 1, actions: [{ by: a, move: 'kick' }], results: { [b]: -40 } });
    await expect(t.db.interlock.round(interlockId, { roundNumber: 3, actions: [], results: {} })).rejects.toBeInstanceOf(InvalidStateError);
    await t.db.interlock.round(interlockId, { roundNumber: 2, actions: [], results: {} });
    await expect(t.db.interlock.round(interlockId, { roundNumber: 3, actions: [], results: {} })).rejects.toBeInstanceOf(InvalidStateError);
    const before = await t.db.combat.pvpStats(b, { consistency: 'strong' });
    const done = await t.db.interlock.finish(interlockId, { winnerId: a, eliminationOrder: [b] });
    expect(done).toMatchObject({ status: 'completed', winnerId: a, eliminationOrder: [b], interlockType: 'one_v_one', currentRound: 2 });
    expect(done.rounds.map((r) => r.roundNumber)).toEqual([1, 2]);
    await expect(t.db.interlock.finish(interlockId, { winnerId: a, eliminationOrder: [b] })).rejects.toBeInstanceOf(InvalidStateError);
    const after = await t.db.combat.pvpStats(b, { consistency: 'strong' });
    expect(after.interlockEncounters).toBe(before.interlockEncounters + 1);
    expect(after.interlockLosses).toBe(before.interlockLosses + 1);
    expect(await one('alpha-primary', 'SELECT interlock_wins FROM character_statistics WHERE character_id = ?', [a])).toMatchObject({
      interlock_wins: 1,
    });
    expect(await one('alpha-primary', 'SELECT COUNT(*) AS n FROM interlock_rounds WHERE interlock_id = ?', [interlockId])).toMatchObject({
      n: 2,
    });
  });

  it('refuses participants outside the district and a winner who is not a participant', async () => {
    await expect(t.db.interlock.start({ participants: [a, c], districtId: 1 })).rejects.toBeInstanceOf(WrongDistrictError);
    await expect(t.db.interlock.start({ participants: [a, a], districtId: 1 })).rejects.toBeInstanceOf(ValidationError);
    const { interlockId } = await t.db.interlock.start({ participants: [a, b], districtId: 1 });
    await expect(t.db.interlock.finish(interlockId, { winnerId: c })).rejects.toBeInstanceOf(InvalidStateError);
  });
});
