import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Reads that gather from every shard (or from global and a shard) in one library call.
let t: TestCluster;
let a: number;
let b: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 1 });
  const { accountId } = await t.db.accounts.register({ username: 'ghost', email: 'ghost@zion.example', password: 'ghost-pass-1' });
  a = (await t.db.characters.create({ accountId, name: 'Ajax', archetype: 'spy', gender: 'male', districtId: 1 })).characterId;
  b = (await t.db.characters.create({ accountId, name: 'Bane', archetype: 'hacker', gender: 'male', districtId: 4 })).characterId;
  await t.db.characters.adjustMoney(a, 700, 'quest_reward');
  await t.db.characters.adjustMoney(b, 300, 'admin_grant');
  await t.db.characters.adjustMoney(b, -50, 'vendor_purchase');
  await t.db.trades.execute({ initiator: { characterId: a, money: 100, itemIds: [] }, recipient: { characterId: b, money: 0, itemIds: [] } });
});
afterAll(async () => t?.stop());

describe('gathered reads', () => {
  it('rolls the economy of every shard up into global, counting a cross-shard trade once', async () => {
    const day = await t.db.economy.rollUp();
    expect(day.totalMoneyInCirculation).toBe(950);
    expect(day.moneyCreatedToday).toBe(1000);
    expect(day.moneyDestroyedToday).toBe(50);
    expect(day.tradesCompletedToday).toBe(1);
    const global = await t.sql('global-primary');
    const [rows] = await global.query<RowDataPacket[]>('SELECT total_money_in_circulation AS m FROM server_economy WHERE tracking_date = ?', [day.trackingDate]);
    expect(Number(rows[0]!.m)).toBe(950);
    expect(await t.db.economy.day(day.trackingDate, { consistency: 'session' })).toEqual(day);
    await expect(t.db.economy.day('yesterday')).rejects.toBeInstanceOf(ValidationError);
  });

  it('merges the PvP leaderboard across shards', async () => {
    await (await t.sql('alpha-primary')).query('UPDATE pvp_statistics SET pvp_rating = 1500 WHERE character_id = ?', [a]);
    await (await t.sql('beta-primary')).query('UPDATE pvp_statistics SET pvp_rating = 1700 WHERE character_id = ?', [b]);
    const board = await t.db.players.leaderboard({ limit: 5, consistency: 'strong' });
    expect(board.map((e) => [e.characterName, e.pvpRating, e.shard])).toEqual([['Bane', 1700, 'beta'], ['Ajax', 1500, 'alpha']]);
  });

  it("gathers a character's history from every shard it has lived on", async () => {
    await t.db.characters.moveToDistrict(a, 5);
    await t.db.characters.adjustMoney(a, 10, 'drop_loot');
    const history = await t.db.players.history(a, { consistency: 'strong' });
    expect(new Set(history.map((h) => h.shard))).toEqual(new Set(['alpha', 'beta']));
    expect(history[0]).toMatchObject({ transactionType: 'drop_loot', shard: 'beta', moneyAmount: 10 });
    expect(history.filter((h) => h.transactionType === 'trade').length).toBe(2); // one record per side
  });
});

describe('archiving inactive characters', () => {
  it('archives offline characters past the age on every shard, with their directory rows, keeping history', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'rama', email: 'rama@zion.example', password: 'kandra-123' });
    const old1 = (await t.db.characters.create({ accountId, name: 'Sati_Old', archetype: 'spy', gender: 'female', districtId: 2 })).characterId;
    const old2 = (await t.db.characters.create({ accountId, name: 'Kamala', archetype: 'spy', gender: 'female', districtId: 5 })).characterId;
    const fresh = (await t.db.characters.create({ accountId, name: 'Rama', archetype: 'hacker', gender: 'male', districtId: 5 })).characterId;
    await t.db.characters.adjustMoney(old2, 5, 'quest_reward');
    await (await t.sql('alpha-primary')).query('UPDATE characters SET last_login = NOW() - INTERVAL 40 DAY WHERE character_id = ?', [old1]);
    const beta = await t.sql('beta-primary');
    await beta.query('UPDATE characters SET last_login = NOW() - INTERVAL 40 DAY WHERE character_id = ?', [old2]);
    await beta.query('UPDATE characters SET last_login = NOW() - INTERVAL 1 DAY WHERE character_id = ?', [fresh]);

    const { archived } = await t.db.characters.archiveInactive(30);
    expect(archived.sort((x, y) => x - y)).toEqual([old1, old2].sort((x, y) => x - y));
    const count = async (node: string, sql: string, params: unknown[]) => {
      const [rows] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
      return Number(rows[0]!.n);
    };
    expect(await count('beta-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id IN (?, ?)', [old2, fresh])).toBe(1);
    expect(await count('beta-primary', 'SELECT COUNT(*) AS n FROM archived_characters WHERE character_id = ?', [old2])).toBe(1);
    expect(await count('alpha-primary', 'SELECT COUNT(*) AS n FROM archived_characters WHERE character_id = ?', [old1])).toBe(1);
    expect(await count('global-primary', 'SELECT COUNT(*) AS n FROM character_directory WHERE character_id IN (?, ?, ?)', [old1, old2, fresh])).toBe(1);
    expect(await count('beta-primary', 'SELECT COUNT(*) AS n FROM transaction_history WHERE to_character_id = ?', [old2])).toBe(1);
    expect((await t.db.characters.archiveInactive(30)).archived).toEqual([]);
    await expect(t.db.characters.archiveInactive(0)).rejects.toBeInstanceOf(ValidationError);
  });
});
