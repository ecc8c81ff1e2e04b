import { z } from 'zod';
import { InvalidStateError, NameTakenError, NotFoundError, RequirementError } from '../../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW, isDuplicateKey } from '../../pool/mysql-errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { textColumn, varcharColumn } from '../shared/column-limits.js';
import { recountOrganization, settleOrganization } from '../shared/memberships.js';
import { addCrewToOrganization, crewsOfOrganization, removeCrewFromOrganization } from './faction-crews.js';
import { moveTreasuryMoney, type TreasuryMove } from '../shared/treasury.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

/** Permission bit of organization_members.permissions: may withdraw from the treasury. */
export const ORG_PERMISSION_TREASURY = 1;
/** Every permission bit (the leader's). */
const ALL_PERMISSIONS = 0x7fffffff;

const id = z.number().int().positive();
const createInput = z
  .object({
    organizationName: varcharColumn(64, 3),
    faction: z.enum(['zion', 'machine', 'merovingian']),
    leaderId: id,
    description: textColumn().optional(),
    motto: varcharColumn(128).optional(),
    recruitmentStatus: z.enum(['open', 'invite_only', 'closed']).default('open'),
    levelRequirement: z.number().int().min(1).max(127).default(1),
    maxMembers: z.number().int().min(1).max(100_000).default(100),
  })
  .strict();
const rankInput = z
  .object({
    rankName: varcharColumn(32, 1),
    rankLevel: z.number().int().min(0).max(127),
    permissions: z.number().int().min(0).max(ALL_PERMISSIONS).optional(),
  })
  .strict();
/** money_amount in transaction_history is an INT. */
const amount = z.number().int().positive().max(2_147_483_647);
const moneyOptions = z.object({ idempotencyKey: z.string().min(1).max(128).optional() }).strict();

export interface OrganizationInput {
  organizationName: string;
  faction: 'zion' | 'machine' | 'merovingian';
  leaderId: number;
  description?: string;
  motto?: string;
  recruitmentStatus?: 'open' | 'invite_only' | 'closed';
  levelRequirement?: number;
  maxMembers?: number;
}

export interface OrganizationRank {
  rankName: string;
  rankLevel: number;
  /** Bit field; {@link ORG_PERMISSION_TREASURY} allows withdrawals. */
  permissions?: number;
}

export interface OrganizationMember {
  characterId: number;
  rankName: string;
  rankLevel: number;
  permissions: number;
  totalContributions: number;
  joinDate: Date;
}

export interface Organization {
  organizationId: number;
  organizationName: string;
  faction: string;
  leaderId: number | null;
  memberCount: number;
  maxMembers: number;
  treasuryAmount: number;
  recruitmentStatus: string;
  levelRequirement: number;
  isActive: boolean;
  members: OrganizationMember[];
}

export interface TreasuryResult {
  /** The character's balance after the call. */
  money: number;
  /** The organization's treasury after the call. */
  treasury: number;
  /** True when an earlier call with the same idempotency key had already done it. */
  replayed: boolean;
}

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
   * Sets a member's rank (and optionally permissions).
   * @example await db.organizations.setRank(organizationId, characterId, { rankName: 'Officer', rankLevel: 5, permissions: ORG_PERMISSION_TREASURY });
   */
  async setRank(organizationId: number, characterId: number, rank: OrganizationRank): Promise<void> {
    const org = parseInput(id, organizationId, 'organization id');
    const cid = parseInput(id, characterId, 'character id');
    const r = parseInput(rankInput, rank, 'rank');
    const header = await this.ctx.router.onGlobal('organization_rank', (conn) =>
      conn.exec(
        'UPDATE organization_members SET rank_name = ?, rank_level = ?, permissions = COALESCE(?, permissions) WHERE organization_id = ? AND character_id = ?',
        [r.rankName, r.rankLevel, r.permissions ?? null, org, cid],
      ),
    );
    if (header.affectedRows === 0) throw new NotFoundError('organization member', `${org}/${cid}`);
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
