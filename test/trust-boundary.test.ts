/**
 * The trust boundary (docs/design.md): the library trusts the calling server, not the player, so
 * calls that act for a player name the acting character or account and its right is checked in
 * the same transaction. On real servers, every check by direct SQL:
 * - organizations.setRank by a member without the right (no rank permission, its own rank, a
 *   higher rank, permissions it lacks): ForbiddenError, nothing written; the leader and a member
 *   with the rank permission may;
 * - moderation.lift by a non-moderator: ForbiddenError, still in force; by a moderator: lifted;
 *   moderation.punish checks `issuedBy`; an appeal by another account is refused.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, ORG_PERMISSION_RANKS, ORG_PERMISSION_TREASURY } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;
let n = 0;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  ({ accountId } = await t.db.accounts.register({ username: 'trust', email: 'trust@example.com', password: 'password123' }));
});

afterAll(async () => {
  await t?.stop();
});

async function globalRows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [r] = await (await t.sql('global-primary')).query<RowDataPacket[]>(sql, params);
  return r;
}

async function character(districtId: number): Promise<number> {
  const { characterId, shard } = await t.db.characters.create({ accountId, name: `Trust${n++}`, archetype: 'hacker', gender: 'male', districtId });
  // Joining an organization of the Zion faction: the character is Zion (no API picks a faction yet).
  await (await t.sql(`${shard}-primary`)).query("UPDATE characters SET faction = 'zion' WHERE character_id = ?", [characterId]);
  return characterId;
}

describe('organizations.setRank checks the acting character', () => {
  it('refuses a member without the right and writes nothing; the leader and a rank officer may', async () => {
    const leader = await character(1);
    const officer = await character(4);
    const member = await character(2);
    const other = await character(5);
    const { organizationId } = await t.db.organizations.create({ organizationName: 'Trust Guard', faction: 'zion', leaderId: leader });
    for (const c of [officer, member, other]) await t.db.organizations.join(organizationId, c);
    const ranks = async () =>
      (
        await globalRows(
          'SELECT character_id, rank_name, rank_level, permissions FROM organization_members WHERE organization_id = ? ORDER BY character_id',
          [organizationId],
        )
      ).map((r) => `${r.character_id}:${r.rank_name}:${r.rank_level}:${r.permissions}`);
    const refused = async (call: () => Promise<unknown>) => {
      const before = await ranks();
      await expect(call()).rejects.toBeInstanceOf(ForbiddenError);
      expect(await ranks()).toEqual(before);
    };

    // A plain member gives itself the treasury: refused (the hole this closes).
    await refused(() =>
      t.db.organizations.setRank(organizationId, member, { rankName: 'Banker', rankLevel: 9, permissions: ORG_PERMISSION_TREASURY }, { actorId: member }),
    );
    await refused(() => t.db.organizations.setRank(organizationId, other, { rankName: 'Officer', rankLevel: 1 }, { actorId: member }));
    // The leader makes an officer who may set ranks below level 5.
    await t.db.organizations.setRank(
      organizationId,
      officer,
      { rankName: 'Officer', rankLevel: 5, permissions: ORG_PERMISSION_RANKS },
      { actorId: leader },
    );
    await t.db.organizations.setRank(organizationId, member, { rankName: 'Sergeant', rankLevel: 3 }, { actorId: officer });
    // ...but not itself, not to its own level, not a permission it lacks.
    await refused(() => t.db.organizations.setRank(organizationId, officer, { rankName: 'Boss', rankLevel: 4 }, { actorId: officer }));
    await refused(() => t.db.organizations.setRank(organizationId, other, { rankName: 'Peer', rankLevel: 5 }, { actorId: officer }));
    await refused(() =>
      t.db.organizations.setRank(
        organizationId,
        other,
        { rankName: 'Banker', rankLevel: 1, permissions: ORG_PERMISSION_TREASURY },
        { actorId: officer },
      ),
    );
    // A higher rank without the rank permission is no right either.
    await t.db.organizations.setRank(organizationId, other, { rankName: 'Veteran', rankLevel: 8, permissions: 0 }, { actorId: leader });
    await refused(() => t.db.organizations.setRank(organizationId, member, { rankName: 'Private', rankLevel: 1 }, { actorId: other }));
    // A character outside the organization has no right at all.
    const outsider = await character(1);
    await refused(() => t.db.organizations.setRank(organizationId, other, { rankName: 'X', rankLevel: 1 }, { actorId: outsider }));
    expect(await ranks()).toContain(`${member}:Sergeant:3:0`);
  });
});

describe('moderation checks the acting moderator', () => {
  let moderator: number;
  let player: number;

  beforeAll(async () => {
    ({ accountId: moderator } = await t.db.accounts.register({ username: 'trustmod', email: 'trustmod@example.com', password: 'password123' }));
    ({ accountId: player } = await t.db.accounts.register({ username: 'trustee', email: 'trustee@example.com', password: 'password123' }));
    // No API sets admin_level yet: the operator's SQL.
    await globalRows('UPDATE accounts SET admin_level = 1 WHERE account_id = ?', [moderator]);
  });

  const active = async (punishmentId: number) =>
    Number((await globalRows('SELECT is_active FROM account_punishments WHERE punishment_id = ?', [punishmentId]))[0]!.is_active);

  it('refuses lift by a non-moderator and leaves the punishment in force; a moderator lifts it', async () => {
    const { punishmentId } = await t.db.moderation.punish({ accountId: player, type: 'mute', reason: 'spam', issuedBy: moderator });
    await expect(t.db.moderation.lift(punishmentId, player)).rejects.toBeInstanceOf(ForbiddenError);
    expect(await active(punishmentId)).toBe(1);
    expect((await t.db.moderation.muteStatus(player)).muted).toBe(true);
    await t.db.moderation.lift(punishmentId, moderator);
    expect(await active(punishmentId)).toBe(0);
  });

  it('refuses punish issued by a non-moderator and an appeal by another account', async () => {
    const before = (await globalRows('SELECT COUNT(*) AS c FROM account_punishments'))[0]!.c;
    await expect(t.db.moderation.punish({ accountId: moderator, type: 'ban', reason: 'x', issuedBy: player })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect((await globalRows('SELECT COUNT(*) AS c FROM account_punishments'))[0]!.c).toBe(before);
    const { punishmentId } = await t.db.moderation.punish({ accountId: player, type: 'warning', reason: 'rude', issuedBy: moderator });
    await expect(t.db.moderation.appeal(punishmentId, 'not me', moderator)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await globalRows('SELECT appeal_status FROM account_punishments WHERE punishment_id = ?', [punishmentId]))[0]!.appeal_status).toBe(
      'none',
    );
    await t.db.moderation.appeal(punishmentId, 'sorry', player);
  });
});
