import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientFundsError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Crews as the game has them: a bank moved by two-phase commits between the character's shard
// (money, ledger row) and global (the bank), first mates, and factions made of crews.
let t: TestCluster;
let accountId: number;
const q = async (node: string, sql: string, params: unknown[] = []) => (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  accountId = (await t.db.accounts.register({ username: 'ghost', email: 'ghost@zion.example', password: 'operator-88' })).accountId;
});
afterAll(async () => t?.stop());

let n = 0;
async function character(districtId: number, money = 0): Promise<number> {
  const { characterId } = await t.db.characters.create({ accountId, name: `Crewman${n++}`, archetype: 'spy', gender: 'male', districtId });
  if (money > 0) await t.db.characters.adjustMoney(characterId, money, 'admin_grant');
  return characterId;
}

describe('crew bank', () => {
  it('deposits and withdraws across shard and global with a ledger row; only the captain and first mates withdraw', async () => {
    const captain = await character(1, 1_000);
    const mate = await character(4, 500);
    const member = await character(5, 500);
    const { crewId } = await t.db.crews.create({ captainId: captain, crewName: 'Vigilant' });
    await t.db.crews.join(crewId, mate);
    await t.db.social.joinCrew(crewId, member); // the older call is the same crew

    expect(await t.db.crews.deposit(crewId, member, 300, { idempotencyKey: 'crew-dep-1' })).toEqual({
      money: 200,
      bank: 300,
      replayed: false,
    });
    expect(await t.db.crews.deposit(crewId, member, 300, { idempotencyKey: 'crew-dep-1' })).toEqual({
      money: 200,
      bank: 300,
      replayed: true,
    });
    await expect(t.db.crews.deposit(crewId, member, 301, { idempotencyKey: 'crew-dep-1' })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    const ledger = await q(
      'beta-primary',
      "SELECT from_character_id, money_amount, transaction_reason FROM transaction_history WHERE transaction_type = 'crew_deposit'",
    );
    expect(ledger).toEqual([{ from_character_id: member, money_amount: 300, transaction_reason: `crew ${crewId}` }]);
    expect((await q('global-primary', 'SELECT bank_amount FROM crews WHERE crew_id = ?', [crewId]))[0]!.bank_amount).toBe(300);

    // A member cannot withdraw; a first mate can once the captain names them; nothing moves when refused.
    await expect(t.db.crews.withdraw(crewId, member, 50)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(t.db.crews.withdraw(crewId, mate, 50)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(t.db.crews.setRole(crewId, member, mate, 'first_mate')).rejects.toBeInstanceOf(ForbiddenError);
    await t.db.crews.setRole(crewId, captain, mate, 'first_mate');
    expect((await t.db.crews.get(crewId, { consistency: 'strong' })).members.map((m) => m.role)).toEqual([
      'captain',
      'first_mate',
      'member',
    ]);
    expect(await t.db.crews.withdraw(crewId, mate, 50)).toEqual({ money: 550, bank: 250, replayed: false });
    await expect(t.db.crews.withdraw(crewId, captain, 251)).rejects.toMatchObject({ requirement: 'treasury' });
    await expect(t.db.crews.deposit(crewId, member, 201)).rejects.toBeInstanceOf(InsufficientFundsError);
    expect(await t.db.crews.withdraw(crewId, captain, 250)).toMatchObject({ money: 1_250, bank: 0 });
    await t.db.crews.setRole(crewId, captain, mate, 'member');
    await expect(t.db.crews.withdraw(crewId, mate, 1)).rejects.toBeInstanceOf(ForbiddenError);

    const outsider = await character(2, 100);
    await expect(t.db.crews.deposit(crewId, outsider, 10)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await t.db.characters.get(outsider, { consistency: 'strong' })).money).toBe(100);
    await expect(t.db.crews.deposit(999_999, outsider, 10)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.crews.deposit(crewId, member, 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.crews.setRole(crewId, captain, outsider, 'first_mate')).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.crews.setRole(crewId, captain, mate, 'captain' as never)).rejects.toBeInstanceOf(ValidationError);

    // Every balance equals its ledger (money conserved between the characters and the bank).
    const report = await t.db.verify();
    expect(report.violations.map((v) => v.message).filter((m) => m.includes('ledger says'))).toEqual([]);
  });

  it('a first mate takes over from a leaving captain; a crew with money in its bank is not disbanded', async () => {
    const captain = await character(1, 100);
    const member = await character(2);
    const mate = await character(4);
    const { crewId } = await t.db.crews.create({ captainId: captain, crewName: 'Logos' });
    await t.db.crews.join(crewId, member);
    await t.db.crews.join(crewId, mate);
    await t.db.crews.setRole(crewId, captain, mate, 'first_mate');
    await t.db.crews.deposit(crewId, captain, 40);
    await expect(t.db.crews.disband(crewId, captain)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.social.disbandCrew(crewId, captain)).rejects.toBeInstanceOf(InvalidStateError);
    expect(await t.db.crews.leave(crewId, captain)).toEqual({ captainId: mate, disbanded: false });
    await t.db.crews.kick(crewId, mate, member);
    await expect(t.db.crews.leave(crewId, mate)).rejects.toBeInstanceOf(InvalidStateError); // the last one out
    expect((await t.db.crews.get(crewId, { consistency: 'strong' })).memberCount).toBe(1);
    await t.db.crews.withdraw(crewId, mate, 40);
    expect(await t.db.crews.leave(crewId, mate)).toEqual({ captainId: null, disbanded: true });
    await expect(t.db.crews.get(crewId, { consistency: 'strong' })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('crew bank under concurrency', () => {
  it('conserves money: concurrent deposits and withdrawals from both shards leave bank + purses equal to the start, ledger exact', async () => {
    const captain = await character(1, 1_000);
    const members = [await character(2, 1_000), await character(4, 1_000), await character(5, 1_000), await character(6, 1_000)];
    const { crewId } = await t.db.crews.create({ captainId: captain, crewName: 'Mjolnir' });
    for (const m of members) await t.db.crews.join(crewId, m);
    await t.db.crews.setRole(crewId, captain, members[2]!, 'first_mate');
    const moves = [
      ...members.flatMap((m) => Array.from({ length: 8 }, () => t.db.crews.deposit(crewId, m, 25))),
      ...Array.from({ length: 6 }, (_, i) => t.db.crews.withdraw(crewId, i % 2 ? captain : members[2]!, 10).catch(() => undefined)),
    ];
    await Promise.all(moves);
    const info = await t.db.crews.get(crewId, { consistency: 'strong' });
    let purses = 0;
    for (const c of [captain, ...members]) purses += (await t.db.characters.get(c, { consistency: 'strong' })).money;
    expect(purses + info.bank).toBe(5_000);
    expect(info.bank).toBeGreaterThanOrEqual(4 * 8 * 25 - 60);
    const report = await t.db.verify();
    expect(report.violations.map((v) => v.message).filter((m) => m.includes('ledger says'))).toEqual([]);
  });
});

describe('factions made of crews', () => {
  it('adds a crew to one organization at a time and removes it', async () => {
    const leader = await character(1);
    await (await t.sql('alpha-primary')).query("UPDATE characters SET faction = 'zion' WHERE character_id = ?", [leader]);
    const { organizationId } = await t.db.organizations.create({ organizationName: 'Zion Defense', faction: 'zion', leaderId: leader });
    const { organizationId: other } = await t.db.organizations
      .create({ organizationName: 'Other Cell', faction: 'zion', leaderId: leader })
      .catch(async () => {
        // A leader is in one organization at a time: found the second one with another character.
        const second = await character(2);
        await (await t.sql('alpha-primary')).query("UPDATE characters SET faction = 'zion' WHERE character_id = ?", [second]);
        return t.db.organizations.create({ organizationName: 'Other Cell', faction: 'zion', leaderId: second });
      });
    const a = (await t.db.crews.create({ captainId: await character(4), crewName: 'Hammer' })).crewId;
    const b = (await t.db.crews.create({ captainId: await character(5), crewName: 'Osiris' })).crewId;
    expect(await t.db.organizations.addCrew(organizationId, a)).toEqual({ added: true });
    expect(await t.db.organizations.addCrew(organizationId, a)).toEqual({ added: false });
    await t.db.organizations.addCrew(organizationId, b);
    expect(await t.db.organizations.crews(organizationId, { consistency: 'strong' })).toEqual([a, b]);
    await expect(t.db.organizations.addCrew(other, a)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.organizations.addCrew(organizationId, 999_999)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.organizations.addCrew(999_999, a)).rejects.toBeInstanceOf(NotFoundError);
    expect((await t.db.crews.get(a, { consistency: 'strong' })).organizationId).toBe(organizationId);

    await t.db.organizations.removeCrew(organizationId, a);
    await expect(t.db.organizations.removeCrew(organizationId, a)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.organizations.removeCrew(other, b)).rejects.toBeInstanceOf(NotFoundError);
    expect(await t.db.organizations.crews(organizationId, { consistency: 'strong' })).toEqual([b]);
    expect(await t.db.organizations.addCrew(other, a)).toEqual({ added: true });
  });
});
