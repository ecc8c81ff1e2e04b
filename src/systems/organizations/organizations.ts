import { ForbiddenError, InvalidStateError, NameTakenError, NotFoundError, RequirementError } from '../../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW, isDuplicateKey } from '../../pool/mysql-errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { id, positiveAmount as amount } from '../shared/fields.js';
import { recountOrganization, settleOrganization } from '../shared/memberships.js';
import { addCrewToOrganization, createOrganizationFromCrews, crewsOfOrganization, removeCrewFromOrganization } from './faction-crews.js';
import { moveTreasuryMoney, type TreasuryMove } from '../shared/treasury.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import {
  ALL_PERMISSIONS,
  createInput,
  fromCrewsInput,
  moneyOptions,
  ORG_PERMISSION_RANKS,
  rankInput,
  setRankOptions,
  type Organization,
  type OrganizationInput,
  type OrganizationRank,
  type SetRankOptions,
  type TreasuryResult,
} from './organization-inputs.js';

export { ORG_PERMISSION_RANKS, ORG_PERMISSION_TREASURY } from './organization-inputs.js';
export type {
  Organization,
  OrganizationInput,
  OrganizationMember,
  OrganizationRank,
  SetRankOptions,
  TreasuryResult,
} from './organization-inputs.js';

/**
 * Player organizations (global tier). Membership rows are the truth: member_count is recounted
 * in every transaction that changes them, and a leader who leaves is replaced. The treasury
 * moves money between a character (its shard) and the organization (global) in one two-phase
 * commit, with a ledger row on the shard.
 */
export class Organizations {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Founds an organization with its leader as first member (leader's faction must match).
   * @example const { organizationId } = await db.organizations.create({ organizationName: 'Zion Guard', faction: 'zion', leaderId });
   */
  async create(input: OrganizationInput): Promise<{ organizationId: number }> {
    const d = parseInput(createInput, input, 'organization');
    await this.checkCharacter(d.leaderId, d.faction, d.levelRequirement);
    try {
      const organizationId = await this.ctx.router.onGlobal('organization_create', async (conn) => {
        const header = await conn.exec(
          `INSERT INTO organizations (organization_name, faction, description, motto, leader_id, member_count, max_members,
                                      recruitment_status, level_requirement) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`,
          [
            d.organizationName,
            d.faction,
            d.description ?? null,
            d.motto ?? null,
            d.leaderId,
            d.maxMembers,
            d.recruitmentStatus,
            d.levelRequirement,
          ],
        );
        const orgId = Number(header.insertId);
        await conn.exec(
          "INSERT INTO organization_members (character_id, organization_id, rank_name, rank_level, permissions) VALUES (?, ?, 'Leader', 127, ?)",
          [d.leaderId, orgId, ALL_PERMISSIONS],
        );
        await recountOrganization(conn, orgId);
        return orgId;
      });
      return { organizationId };
    } catch (error) {
      if (isDuplicateKey(error, 'organization_name')) throw new NameTakenError('organizationName', d.organizationName, { cause: error });
      throw membershipError(error, d.leaderId);
    }
  }

  /**
   * Founds a faction the way the emulators do: from crews, under a master (a captain of one of
   * them), atomically on global. Its side is `faction`, else the master's (characters.setFaction);
   * a master without a side is refused (RequirementError). Captains and first mates of member
   * crews use the treasury; their members may deposit.
   * @example const { organizationId } = await db.organizations.createFromCrews({ name: 'Zion Guard', crewIds: [crewA, crewB], masterId });
   */
  async createFromCrews(input: { name: string; crewIds: number[]; masterId: number; faction?: OrganizationInput['faction'] }): Promise<{
    organizationId: number;
  }> {
    const d = parseInput(fromCrewsInput, input, 'organization');
    const side = d.faction ?? (await this.readCharacter(d.masterId)).faction;
    if (side !== 'zion' && side !== 'machine' && side !== 'merovingian')
      throw new RequirementError('faction', `master ${d.masterId} has taken no side (characters.setFaction) and none was given`);
    try {
      const organizationId = await createOrganizationFromCrews(this.ctx.router, { ...d, faction: side }, ALL_PERMISSIONS);
      return { organizationId };
    } catch (error) {
      if (isDuplicateKey(error, 'organization_name')) throw new NameTakenError('name', d.name, { cause: error });
      throw membershipError(error, d.masterId);
    }
  }

  /**
   * Adds a character (open recruitment, matching faction, level requirement, room left).
   * @example await db.organizations.join(organizationId, characterId);
   */
  async join(organizationId: number, characterId: number): Promise<void> {
    const org = parseInput(id, organizationId, 'organization id');
    const cid = parseInput(id, characterId, 'character id');
    const character = await this.readCharacter(cid);
    try {
      await this.ctx.router.onGlobal('organization_join', async (conn) => {
        const row = await lockOrganization(conn, org);
        if (!row.is_active) throw new InvalidStateError('organization', org, 'inactive');
        if (row.recruitment_status !== 'open')
          throw new RequirementError('recruitment', `organization ${org} recruitment is ${row.recruitment_status}`);
        if (row.faction !== character.faction)
          throw new RequirementError('faction', `organization ${org} is ${row.faction}, character is ${character.faction}`);
        if (character.level < row.level_requirement) throw new RequirementError('level', `needs level ${row.level_requirement}`);
        if (row.member_count >= row.max_members) throw new RequirementError('capacity', `organization ${org} is full`);
        await conn.exec('INSERT INTO organization_members (character_id, organization_id) VALUES (?, ?)', [cid, org]);
        await recountOrganization(conn, org);
      });
    } catch (error) {
      throw membershipError(error, cid);
    }
  }

  /**
   * Removes a member; a leader who leaves is replaced by the highest-ranked longest-serving member.
   * @example const { leaderId } = await db.organizations.leave(organizationId, characterId);
   */
  async leave(organizationId: number, characterId: number): Promise<{ leaderId: number | null }> {
    const org = parseInput(id, organizationId, 'organization id');
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.onGlobal('organization_leave', async (conn) => {
      await lockOrganization(conn, org);
      const header = await conn.exec('DELETE FROM organization_members WHERE organization_id = ? AND character_id = ?', [org, cid]);
      if (header.affectedRows === 0) throw new NotFoundError('organization member', `${org}/${cid}`);
      return settleOrganization(conn, org);
    });
  }

  /**
   * Sets a member's rank (and optionally permissions) for the acting character `actorId`, whose
   * right is checked in the same transaction (docs/design.md, "Trust boundary"): the leader may
   * set any rank; another member needs {@link ORG_PERMISSION_RANKS}, and then only for another
   * member ranked below it, to a rank below its own, with permissions it holds itself
   * (ForbiddenError otherwise, nothing written).
   * Without `actorId` the calling server itself decides (operator tooling); deprecated for a
   * player's action, which must name its actor.
   * @example await db.organizations.setRank(organizationId, characterId, { rankName: 'Officer', rankLevel: 5, permissions: ORG_PERMISSION_TREASURY }, { actorId: leaderId });
   */
  async setRank(organizationId: number, characterId: number, rank: OrganizationRank, options: SetRankOptions = {}): Promise<void> {
    const org = parseInput(id, organizationId, 'organization id');
    const cid = parseInput(id, characterId, 'character id');
    const r = parseInput(rankInput, rank, 'rank');
    const { actorId } = parseInput(setRankOptions, options, 'options');
    await this.ctx.router.onGlobal('organization_rank', async (conn) => {
      // The organization row first, then member rows: the order treasury moves lock in.
      const [organization] = await conn.rows<{ leader_id: number | null }>(
        'SELECT leader_id FROM organizations WHERE organization_id = ? FOR UPDATE',
        [org],
      );
      if (!organization) throw new NotFoundError('organization', org);
      const members = await conn.rows<{ character_id: number; rank_level: number; permissions: number }>(
        'SELECT character_id, rank_level, permissions FROM organization_members WHERE organization_id = ? AND character_id IN (?, ?) ORDER BY character_id FOR UPDATE',
        [org, cid, actorId ?? cid],
      );
      const target = members.find((m) => Number(m.character_id) === cid);
      if (!target) throw new NotFoundError('organization member', `${org}/${cid}`);
      if (actorId !== undefined && Number(organization.leader_id) !== actorId) {
        const actor = members.find((m) => Number(m.character_id) === actorId);
        const refuse = (why: string) => new ForbiddenError('organization setRank', `character ${actorId} ${why}`);
        if (!actor) throw refuse(`is not a member of organization ${org}`);
        const level = Number(actor.rank_level);
        const held = Number(actor.permissions);
        if ((held & ORG_PERMISSION_RANKS) === 0) throw refuse('has no rank permission');
        if (actorId === cid) throw refuse('may not set its own rank');
        if (Number(target.rank_level) >= level) throw refuse(`may not change a member of rank ${target.rank_level} (its own: ${level})`);
        if (r.rankLevel >= level) throw refuse(`may not give rank ${r.rankLevel} (its own: ${level})`);
        if (r.permissions !== undefined && (r.permissions & ~held) !== 0) throw refuse('may not give permissions it does not hold');
      }
      await conn.exec(
        'UPDATE organization_members SET rank_name = ?, rank_level = ?, permissions = COALESCE(?, permissions) WHERE organization_id = ? AND character_id = ?',
        [r.rankName, r.rankLevel, r.permissions ?? null, org, cid],
      );
    });
  }

  /**
   * Moves money from a member's balance into the treasury, atomically across the character's
   * shard and global. Retry-safe with `idempotencyKey`.
   * @example const { money, treasury } = await db.organizations.deposit(organizationId, characterId, 500, { idempotencyKey: 'dep-1' });
   */
  async deposit(
    organizationId: number,
    characterId: number,
    money: number,
    options: { idempotencyKey?: string } & WriteOptions = {},
  ): Promise<TreasuryResult> {
    return this.move('deposit', organizationId, characterId, money, options);
  }

  /**
   * Moves money from the treasury to a member with the treasury permission (or the leader).
   * @example await db.organizations.withdraw(organizationId, characterId, 200);
   */
  async withdraw(
    organizationId: number,
    characterId: number,
    money: number,
    options: { idempotencyKey?: string } & WriteOptions = {},
  ): Promise<TreasuryResult> {
    return this.move('withdraw', organizationId, characterId, money, options);
  }

  /**
   * Adds a crew to the organization (factions are made of crews); a crew belongs to one at most
   * (InvalidStateError otherwise). `added` is false when it was there already.
   * @example await db.organizations.addCrew(organizationId, crewId);
   */
  async addCrew(organizationId: number, crewId: number): Promise<{ added: boolean }> {
    const org = parseInput(id, organizationId, 'organization id');
    return addCrewToOrganization(this.ctx.router, org, parseInput(id, crewId, 'crew id'));
  }

  /**
   * Takes a crew out of the organization (NotFoundError when it is not in it).
   * @example await db.organizations.removeCrew(organizationId, crewId);
   */
  async removeCrew(organizationId: number, crewId: number): Promise<void> {
    const org = parseInput(id, organizationId, 'organization id');
    await removeCrewFromOrganization(this.ctx.router, org, parseInput(id, crewId, 'crew id'));
  }

  /**
   * The crews of an organization, by id.
   * @example const crewIds = await db.organizations.crews(organizationId);
   */
  async crews(organizationId: number, options: { consistency?: Consistency } = {}): Promise<number[]> {
    const org = parseInput(id, organizationId, 'organization id');
    return crewsOfOrganization(this.ctx.router, org, consistencyOf(options, 'session'));
  }

  /** An organization with its members (replica-eligible). @example const org = await db.organizations.get(organizationId); */
  async get(organizationId: number, options: { consistency?: Consistency } = {}): Promise<Organization> {
    const org = parseInput(id, organizationId, 'organization id');
    const level = consistencyOf(options, 'session');
    const result = await this.ctx.router.readGlobal('organization_get', level, async (conn) => {
      const [row] = await conn.rows<Record<string, unknown>>('SELECT * FROM organizations WHERE organization_id = ?', [org]);
      if (!row) return undefined;
      const members = await conn.rows<Record<string, unknown>>(
        'SELECT * FROM organization_members WHERE organization_id = ? ORDER BY rank_level DESC, join_date, character_id',
        [org],
      );
      return { row, members };
    });
    if (!result) throw new NotFoundError('organization', org);
    const { row, members } = result;
    return {
      organizationId: org,
      organizationName: String(row.organization_name),
      faction: String(row.faction),
      leaderId: row.leader_id === null ? null : Number(row.leader_id),
      memberCount: Number(row.member_count),
      maxMembers: Number(row.max_members),
      treasuryAmount: Number(row.treasury_amount),
      recruitmentStatus: String(row.recruitment_status),
      levelRequirement: Number(row.level_requirement),
      isActive: Boolean(row.is_active),
      members: members.map((m) => ({
        characterId: Number(m.character_id),
        rankName: String(m.rank_name),
        rankLevel: Number(m.rank_level),
        permissions: Number(m.permissions),
        totalContributions: Number(m.total_contributions),
        joinDate: m.join_date as Date,
      })),
    };
  }

  private async move(
    kind: TreasuryMove['kind'],
    organizationId: number,
    characterId: number,
    money: number,
    options: { idempotencyKey?: string } & WriteOptions,
  ) {
    const org = parseInput(id, organizationId, 'organization id');
    const cid = parseInput(id, characterId, 'character id');
    const value = parseInput(amount, money, 'amount');
    const { fencingToken, ...keyed } = options;
    const { idempotencyKey } = parseInput(moneyOptions, keyed, 'options');
    return this.ctx.router.onCharacter(
      `organization_${kind}`,
      cid,
      async (conn, route, tx) =>
        moveTreasuryMoney(conn, route.shard, () => tx.branch(GLOBAL), {
          kind,
          organizationId: org,
          characterId: cid,
          amount: value,
          idempotencyKey,
        }),
      { ...fencing({ fencingToken }), withGlobal: true },
    );
  }

  private async readCharacter(cid: number): Promise<{ faction: string; level: number }> {
    return this.ctx.router.readCharacter('organization_character', cid, 'strong', async (conn) => {
      const [row] = await conn.rows<{ faction: string; level: number }>('SELECT faction, level FROM characters WHERE character_id = ?', [
        cid,
      ]);
      return row && { faction: row.faction, level: Number(row.level) };
    });
  }

  private async checkCharacter(cid: number, faction: string, levelRequirement: number): Promise<void> {
    const character = await this.readCharacter(cid);
    if (character.faction !== faction)
      throw new RequirementError('faction', `character ${cid} is ${character.faction}, organization is ${faction}`);
    if (character.level < levelRequirement) throw new RequirementError('level', `needs level ${levelRequirement}`);
  }
}

interface OrganizationRow {
  faction: string;
  is_active: number;
  recruitment_status: string;
  level_requirement: number;
  member_count: number;
  max_members: number;
  leader_id: number | null;
}

async function lockOrganization(conn: PooledConnection, org: number): Promise<OrganizationRow> {
  const [row] = await conn.rows<OrganizationRow>(
    `SELECT faction, is_active, recruitment_status, level_requirement, member_count, max_members, leader_id
       FROM organizations WHERE organization_id = ? FOR UPDATE`,
    [org],
  );
  if (!row) throw new NotFoundError('organization', org);
  return row;
}

/** Driver errors of a membership insert as typed errors. */
function membershipError(error: unknown, cid: number): unknown {
  if (isDuplicateKey(error)) return new RequirementError('membership', `character ${cid} is already in an organization`);
  if (errnoOf(error) === ER_NO_REFERENCED_ROW) return new NotFoundError('character', cid, { cause: error });
  return error;
}
