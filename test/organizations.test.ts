import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientFundsError,
  MxoError,
  NameTakenError,
  NotFoundError,
  RequirementError,
  ValidationError,
} from '../src/index.js';
import { ORG_PERMISSION_TREASURY } from '../src/systems/organizations/organizations.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { recoverUntilClean, xaRecoverAll } from './support/twopc-invariants.js';

// Organizations: membership rules, counts equal to rows, and the treasury 2PC (shard <-> global).
let t: TestCluster;
let accountId: number;
const GRACE_MS = 1_500;

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: {
      recovery: { intervalMs: 1_000, gracePeriodMs: GRACE_MS },
      pool: { max: 10, downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000, lockWaitTimeoutSec: 2 },
      twoPhase: { statementTimeoutMs: 4_000, deadlockRetries: 5 },
    },
  });
  accountId = (await t.db.accounts.register({ username: 'orgs', email: 'orgs@zion.example', password: 'org-pass-123' })).accountId;
});
afterAll(async () => t?.stop());

let n = 0;
async function character(districtId: number, faction = 'zion', money = 0): Promise<number> {
  const { characterId, shard } = await t.db.characters.create({
    accountId,
    name: `Org${n++}`,
    archetype: 'hacker',
    gender: 'male',
    districtId,
  });
  await (await t.sql(`${shard}-primary`)).query('UPDATE characters SET faction = ? WHERE character_id = ?', [faction, characterId]);
  if (money > 0) await t.db.characters.adjustMoney(characterId, money, 'admin_grant');
  return characterId;
}

async function globalRows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [rows] = await (await t.sql('global-primary')).query<RowDataPacket[]>(sql, params);
  return rows;
}

async function countsMatch(): Promise<void> {
  const drift = await globalRows(
    `SELECT o.organization_id, o.member_count, COUNT(m.character_id) AS n FROM organizations o
       LEFT JOIN organization_members m ON m.organization_id = o.organization_id
      GROUP BY o.organization_id HAVING o.member_count <> n`,
  );
  expect(drift).toEqual([]);
}

describe('organizations', () => {
  it('creates, joins, ranks and leaves with member counts equal to the rows and the leadership handed on', async () => {
    const leader = await character(1);
    const officer = await character(4);
    const member = await character(2);
    const { organizationId } = await t.db.organizations.create({
      organizationName: 'Zion Guard',
      faction: 'zion',
      leaderId: leader,
      maxMembers: 3,
    });
    await t.db.organizations.join(organizationId, member);
    await t.db.organizations.join(organizationId, officer);
    await t.db.organizations.setRank(organizationId, officer, { rankName: 'Officer', rankLevel: 5 });
    let org = await t.db.organizations.get(organizationId, { consistency: 'strong' });
    expect(org).toMatchObject({ leaderId: leader, memberCount: 3, faction: 'zion' });
    expect(org.members.map((m) => [m.characterId, m.rankName])).toEqual([
      [leader, 'Leader'],
      [officer, 'Officer'],
      [member, 'Member'],
    ]);
    await countsMatch();

    // Refusals: full, wrong faction, already in one, unknown.
    const late = await character(5);
    await expect(t.db.organizations.join(organizationId, late)).rejects.toMatchObject({ requirement: 'capacity' });
    const machine = await character(3, 'machine');
    const { organizationId: other } = await t.db.organizations.create({ organizationName: 'Other Zion', faction: 'zion', leaderId: late });
    await expect(t.db.organizations.join(other, machine)).rejects.toMatchObject({ requirement: 'faction' });
    await expect(t.db.organizations.join(other, member)).rejects.toMatchObject({ requirement: 'membership' });
    await expect(t.db.organizations.create({ organizationName: 'Zion Guard', faction: 'zion', leaderId: machine })).rejects.toBeInstanceOf(
      RequirementError,
    );
    await expect(
      t.db.organizations.create({ organizationName: 'Zion Guard', faction: 'machine', leaderId: machine }),
    ).rejects.toBeInstanceOf(NameTakenError);
    await expect(t.db.organizations.join(999_999, machine)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.organizations.leave(organizationId, machine)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.organizations.setRank(organizationId, officer, { rankName: 'x'.repeat(33), rankLevel: 1 })).rejects.toBeInstanceOf(
      ValidationError,
    );

    // The leader leaves: the highest-ranked member leads.
    expect(await t.db.organizations.leave(organizationId, leader)).toEqual({ leaderId: officer });
    org = await t.db.organizations.get(organizationId, { consistency: 'strong' });
    expect(org).toMatchObject({ leaderId: officer, memberCount: 2 });
    await countsMatch();

    // Deleting an account releases its characters' memberships (FK cascades fire no triggers).
    const { accountId: doomed } = await t.db.accounts.register({
      username: 'doomed',
      email: 'doomed@zion.example',
      password: 'doomed-123',
    });
    const { characterId: d, shard } = await t.db.characters.create({
      accountId: doomed,
      name: 'Doomed',
      archetype: 'spy',
      gender: 'male',
      districtId: 1,
    });
    await (await t.sql(`${shard}-primary`)).query("UPDATE characters SET faction = 'zion' WHERE character_id = ?", [d]);
    await t.db.organizations.join(organizationId, d);
    await t.db.accounts.delete(doomed);
    expect((await t.db.organizations.get(organizationId, { consistency: 'strong' })).memberCount).toBe(2);
    await countsMatch();
  });

  it('deposits and withdraws atomically across the shard and global, with a ledger row and idempotency', async () => {
    const leader = await character(4, 'zion', 1_000);
    const member = await character(1, 'zion', 500);
    const { organizationId } = await t.db.organizations.create({ organizationName: 'Bankers', faction: 'zion', leaderId: leader });
    await t.db.organizations.join(organizationId, member);

    expect(await t.db.organizations.deposit(organizationId, member, 300, { idempotencyKey: 'dep-1' })).toEqual({
      money: 200,
      treasury: 300,
      replayed: false,
    });
    expect(await t.db.organizations.deposit(organizationId, member, 300, { idempotencyKey: 'dep-1' })).toEqual({
      money: 200,
      treasury: 300,
      replayed: true,
    });
    await expect(t.db.organizations.deposit(organizationId, member, 301, { idempotencyKey: 'dep-1' })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    const [ledger] = await (
      await t.sql('alpha-primary')
    ).query<RowDataPacket[]>(
      "SELECT from_character_id, money_amount, transaction_reason FROM transaction_history WHERE transaction_type = 'organization_deposit' AND from_character_id = ?",
      [member],
    );
    expect(ledger).toEqual([{ from_character_id: member, money_amount: 300, transaction_reason: `organization ${organizationId}` }]);
    expect(
      (await globalRows('SELECT total_contributions FROM organization_members WHERE character_id = ?', [member]))[0]!.total_contributions,
    ).toBe(300);

    // Withdrawals need the permission (the leader has it); nothing moves when refused.
    await expect(t.db.organizations.withdraw(organizationId, member, 50)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(t.db.organizations.deposit(organizationId, member, 201)).rejects.toBeInstanceOf(InsufficientFundsError);
    await expect(t.db.organizations.withdraw(organizationId, leader, 301)).rejects.toMatchObject({ requirement: 'treasury' });
    expect(await t.db.organizations.withdraw(organizationId, leader, 100)).toMatchObject({ money: 1_100, treasury: 200 });
    await t.db.organizations.setRank(organizationId, member, { rankName: 'Treasurer', rankLevel: 3, permissions: ORG_PERMISSION_TREASURY });
    expect(await t.db.organizations.withdraw(organizationId, member, 200)).toMatchObject({ money: 400, treasury: 0 });
    const outsider = await character(2, 'zion', 100);
    await expect(t.db.organizations.deposit(organizationId, outsider, 10)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await t.db.characters.get(outsider, { consistency: 'strong' })).money).toBe(100);
  });

  it('conserves money across global and both shards while shard primaries are killed (treasury bank test)', async () => {
    const members: number[] = [];
    const leader = await character(1, 'zion', 1_000);
    members.push(leader);
    const { organizationId } = await t.db.organizations.create({ organizationName: 'Vault', faction: 'zion', leaderId: leader });
    for (const district of [4, 2, 5, 3, 6, 1, 4]) {
      const cid = await character(district, 'zion', 1_000);
      await t.db.organizations.join(organizationId, cid);
      await t.db.organizations.setRank(organizationId, cid, { rankName: 'Treasurer', rankLevel: 2, permissions: ORG_PERMISSION_TREASURY });
      members.push(cid);
    }
    const total = async () => {
      let sum = 0;
      for (const shard of ['alpha', 'beta']) {
        const [r] = await (
          await t.sql(`${shard}-primary`)
        ).query<RowDataPacket[]>(`SELECT COALESCE(SUM(money), 0) AS m FROM characters WHERE character_id IN (${members.join(',')})`);
        sum += Number(r[0]!.m);
      }
      const [org] = await globalRows('SELECT treasury_amount FROM organizations WHERE organization_id = ?', [organizationId]);
      return sum + Number(org!.treasury_amount);
    };
    expect(await total()).toBe(8_000);

    let ok = 0;
    const untyped: string[] = [];
    const deadline = Date.now() + 10_000;
    const worker = async () => {
      while (Date.now() < deadline) {
        const cid = members[Math.floor(Math.random() * members.length)]!;
        const amount = 1 + Math.floor(Math.random() * 50);
        try {
          if (Math.random() < 0.5) await t.db.organizations.deposit(organizationId, cid, amount);
          else await t.db.organizations.withdraw(organizationId, cid, amount);
          ok++;
        } catch (error) {
          if (!(error instanceof MxoError)) untyped.push(String(error));
          else if (!['INSUFFICIENT_FUNDS', 'REQUIREMENT_NOT_MET'].includes(error.code)) await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const kills: string[] = [];
    const chaos = async () => {
      await new Promise((r) => setTimeout(r, 1_500));
      while (Date.now() < deadline - 3_000) {
        const node = kills.length % 2 === 0 ? 'alpha-primary' : 'beta-primary';
        await t.sandbox.kill(node);
        kills.push(node);
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
        await t.sandbox.restart(node);
        await new Promise((r) => setTimeout(r, 1_500));
      }
    };
    await Promise.all([chaos(), ...Array.from({ length: 4 }, worker)]);
    console.log('treasury bank test:', JSON.stringify({ ok, kills }));
    expect(untyped).toEqual([]);
    expect(kills.length).toBeGreaterThanOrEqual(2);
    expect(ok).toBeGreaterThan(20);

    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    await recoverUntilClean(t.db, t.sandbox);
    expect(await xaRecoverAll(t.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
    expect(await total()).toBe(8_000);
  }, 120_000);
});
