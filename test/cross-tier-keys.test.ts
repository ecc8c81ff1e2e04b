import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NameTakenError, NotFoundError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Foreign keys the schema cannot hold (they cross a tier or a shard) are enforced by the library
// or point at the global character directory; each one is proven here with plain SQL.
let t: TestCluster;
let accountId: number;
let alpha: number;
let beta: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  ({ accountId } = await t.db.accounts.register({ username: 'oracle', email: 'oracle@zion.example', password: 'cookies-123' }));
  alpha = (await t.db.characters.create({ accountId, name: 'Seraph', archetype: 'martial_artist', gender: 'male', districtId: 1 })).characterId;
  beta = (await t.db.characters.create({ accountId, name: 'Sati', archetype: 'hacker', gender: 'female', districtId: 4 })).characterId;
});
afterAll(async () => t?.stop());

async function count(node: string, sql: string, params: unknown[]): Promise<number> {
  const conn = await t.sql(node);
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return Number(Object.values(rows[0]!)[0]);
}

describe('keys across tiers and shards', () => {
  it('characters.account_id: a character needs an existing global account', async () => {
    await expect(t.db.characters.create({ accountId: 424_242, name: 'Orphan', archetype: 'spy', gender: 'male', districtId: 1 })).rejects.toBeInstanceOf(NotFoundError);
    expect(await count('alpha-primary', "SELECT COUNT(*) FROM characters WHERE character_name = 'Orphan'", [])).toBe(0);
  });

  it('character_relationships.target: a friend on another shard is accepted, a missing one is refused', async () => {
    await t.db.social.setRelationship({ characterId: alpha, targetCharacterId: beta, type: 'friend' });
    expect(await count('alpha-primary', 'SELECT COUNT(*) FROM character_relationships WHERE character_id = ? AND target_character_id = ?', [alpha, beta])).toBe(1);
    await expect(t.db.social.setRelationship({ characterId: alpha, targetCharacterId: 999_999, type: 'enemy' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.social.setRelationship({ characterId: alpha, targetCharacterId: alpha, type: 'friend' })).rejects.toBeInstanceOf(ValidationError);
    expect(await count('alpha-primary', 'SELECT COUNT(*) FROM character_relationships WHERE character_id = ?', [alpha])).toBe(1);
    expect((await t.db.social.listRelationships(alpha)).map((r) => r.targetCharacterId)).toEqual([beta]);
  });

  it('crews.captain_id and crew_members.character_id point at the global directory', async () => {
    const { crewId } = await t.db.social.createCrew({ captainId: beta, crewName: 'Zion Defense' });
    await t.db.social.joinCrew(crewId, alpha);
    expect(await count('global-primary', 'SELECT COUNT(*) FROM crew_members WHERE crew_id = ?', [crewId])).toBe(2);
    await expect(t.db.social.createCrew({ captainId: 777_777, crewName: 'Ghost Crew' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.social.createCrew({ captainId: alpha, crewName: 'Zion Defense' })).rejects.toBeInstanceOf(NameTakenError);
    await expect(t.db.social.joinCrew(crewId, 888_888)).rejects.toBeInstanceOf(NotFoundError);
    expect((await t.db.players.summary(alpha)).crewName).toBe('Zion Defense');
  });

  it('trade partners on different shards are resolved through the directory; an unknown partner is refused', async () => {
    await t.db.characters.adjustMoney(alpha, 50, 'quest_reward');
    await expect(t.db.trades.execute({ initiator: { characterId: alpha, money: 10, itemIds: [] }, recipient: { characterId: 555_555, money: 0, itemIds: [] } })).rejects.toBeInstanceOf(NotFoundError);
    expect(await count('alpha-primary', 'SELECT money FROM characters WHERE character_id = ?', [alpha])).toBe(50);
    const trade = await t.db.trades.execute({ initiator: { characterId: alpha, money: 10, itemIds: [] }, recipient: { characterId: beta, money: 0, itemIds: [] } });
    expect(trade.crossShard).toBe(true);
    expect(await count('beta-primary', 'SELECT money FROM characters WHERE character_id = ?', [beta])).toBe(10);
  });

  it('deleting an account removes its characters on every shard and its memberships, but keeps history', async () => {
    const { deletedCharacters } = await t.db.accounts.delete(accountId);
    expect(deletedCharacters).toBe(2);
    expect(await count('alpha-primary', 'SELECT COUNT(*) FROM characters WHERE character_id = ?', [alpha])).toBe(0);
    expect(await count('beta-primary', 'SELECT COUNT(*) FROM characters WHERE character_id = ?', [beta])).toBe(0);
    expect(await count('global-primary', 'SELECT COUNT(*) FROM character_directory WHERE account_id = ?', [accountId])).toBe(0);
    expect(await count('global-primary', 'SELECT COUNT(*) FROM crew_members WHERE character_id IN (?, ?)', [alpha, beta])).toBe(0);
    // Both members were this account's: the emptied crew is disbanded (a crew with members left
    // hands its captaincy on: test/crews.test.ts). Trade history stays on both shards.
    expect(await count('global-primary', "SELECT COUNT(*) FROM crews WHERE crew_name = 'Zion Defense'", [])).toBe(0);
    expect(await count('alpha-primary', 'SELECT COUNT(*) FROM transaction_history WHERE from_character_id = ?', [alpha])).toBeGreaterThan(0);
    expect(await count('beta-primary', 'SELECT COUNT(*) FROM transaction_history WHERE from_character_id = ?', [alpha])).toBeGreaterThan(0);
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      const conn = await t.sql(node);
      const [xa] = await conn.query<RowDataPacket[]>('XA RECOVER');
      expect(xa).toEqual([]);
    }
    await expect(t.db.characters.get(alpha)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.accounts.delete(accountId)).rejects.toBeInstanceOf(NotFoundError);
  });
});
