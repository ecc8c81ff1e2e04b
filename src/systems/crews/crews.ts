import { z } from 'zod';
import { idempotencyOptions } from '../shared/fields.js';
import { NotFoundError } from '../../errors.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { textColumn, varcharColumn, id, positiveAmount as amount } from '../shared/fields.js';
import * as crews from '../shared/crew-rules.js';
import { moveCrewBankMoney, type CrewBankMove } from '../shared/treasury.js';
import { readCrewView, type CrewView } from '../shared/crew-view.js';
import { parseInput, schemaFor } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

export type { CrewRole } from '../shared/crew-rules.js';
export type { CrewView } from '../shared/crew-view.js';

/** A new crew and its captain. */
export type { CrewCreateInput } from '../shared/crew-rules.js';
import type { CrewCreateInput } from '../shared/crew-rules.js';

/** A crew with its bank and its members' roles. */
export interface CrewInfo {
  crewId: number;
  crewName: string;
  captainId: number | null;
  /** The faction (organization) the crew belongs to, if any. */
  organizationId: number | null;
  memberCount: number;
  maxMembers: number;
  bank: number;
  members: Array<{ characterId: number; role: crews.CrewRole; joinDate: Date }>;
}

/** What a bank movement reports: the character's money and the crew's bank after it. */
export interface CrewBankResult {
  money: number;
  bank: number;
  /** True when an idempotency key named an earlier identical movement (nothing applied again). */
  replayed: boolean;
}

/** Options of a bank movement. */
export interface CrewBankOptions extends WriteOptions {
  /** A retry with the same key returns the first result instead of moving money twice. */
  idempotencyKey?: string;
}

/** money_amount in transaction_history is an INT. */
const bankOptions = schemaFor<CrewBankOptions>()(idempotencyOptions);
const createInput = schemaFor<CrewCreateInput>()(
  z.object({ captainId: id, crewName: varcharColumn(64, 3), description: textColumn().optional() }).strict(),
);
const roleInput = z.enum(['first_mate', 'member']);

/**
 * Crews as the game has them (global tier): membership, a captain and first mates, and a crew
 * bank. Bank movements are two-phase commits between the character's shard (money and the
 * ledger row) and global (the bank), through the same body as organization treasuries
 * (src/systems/shared/treasury.ts). db.social's crew calls are the same rules (src/systems/shared/crew-rules.ts).
 */
export class Crews {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Founds a crew with its captain as first member. A character is in at most one crew.
   * @example const { crewId } = await db.crews.create({ captainId, crewName: 'Nebuchadnezzar' });
   */
  async create(input: CrewCreateInput): Promise<{ crewId: number }> {
    return { crewId: await crews.createCrew(this.ctx.router, parseInput(createInput, input, 'crew')) };
  }

  /**
   * Joins a crew as a member (recruitment open, room left, not in another crew).
   * @example await db.crews.join(crewId, characterId);
   */
  async join(crewId: number, characterId: number): Promise<void> {
    await crews.joinCrew(this.ctx.router, parseInput(id, crewId, 'crew id'), parseInput(id, characterId, 'character id'));
  }

  /**
   * Leaves a crew; a leaving captain hands it to the longest-serving first mate (else member);
   * the last one out disbands it, refused (InvalidStateError) while the bank holds money.
   * @example const { captainId, disbanded } = await db.crews.leave(crewId, characterId);
   */
  async leave(crewId: number, characterId: number): Promise<{ captainId: number | null; disbanded: boolean }> {
    return crews.leaveCrew(this.ctx.router, parseInput(id, crewId, 'crew id'), parseInput(id, characterId, 'character id'));
  }

  /**
   * The captain removes a member.
   * @example await db.crews.kick(crewId, captainId, characterId);
   */
  async kick(crewId: number, captainId: number, characterId: number): Promise<void> {
    const crew = parseInput(id, crewId, 'crew id');
    await crews.kickFromCrew(this.ctx.router, crew, parseInput(id, captainId, 'captain id'), parseInput(id, characterId, 'character id'));
  }

  /**
   * The captain disbands the crew (refused while the bank holds money).
   * @example const { members } = await db.crews.disband(crewId, captainId);
   */
  async disband(crewId: number, captainId: number): Promise<{ members: number }> {
    return crews.disbandCrew(this.ctx.router, parseInput(id, crewId, 'crew id'), parseInput(id, captainId, 'captain id'));
  }

  /**
   * The captain makes a member a first mate (may withdraw from the bank, first in line for the
   * captaincy) or a plain member again.
   * @example await db.crews.setRole(crewId, captainId, characterId, 'first_mate');
   */
  async setRole(crewId: number, captainId: number, characterId: number, role: 'first_mate' | 'member'): Promise<void> {
    const crew = parseInput(id, crewId, 'crew id');
    const captain = parseInput(id, captainId, 'captain id');
    await crews.setCrewRole(
      this.ctx.router,
      crew,
      captain,
      parseInput(id, characterId, 'character id'),
      parseInput(roleInput, role, 'role'),
    );
  }

  /**
   * Moves money from a member to the crew bank (2PC: the character's shard with its ledger row, and global).
   * @example const { money, bank } = await db.crews.deposit(crewId, characterId, 500, { idempotencyKey: 'dep-1' });
   */
  async deposit(crewId: number, characterId: number, money: number, options: CrewBankOptions = {}): Promise<CrewBankResult> {
    return this.move('deposit', crewId, characterId, money, options);
  }

  /**
   * Moves money from the crew bank to the captain or a first mate (ForbiddenError for others).
   * @example const { money, bank } = await db.crews.withdraw(crewId, captainId, 200);
   */
  async withdraw(crewId: number, characterId: number, money: number, options: CrewBankOptions = {}): Promise<CrewBankResult> {
    return this.move('withdraw', crewId, characterId, money, options);
  }

  /**
   * A crew with its bank and members' roles, or NotFoundError.
   * @example const { bank, members } = await db.crews.get(crewId);
   */
  async get(crewId: number, options: { consistency?: Consistency } = {}): Promise<CrewInfo> {
    const crew = parseInput(id, crewId, 'crew id');
    return this.ctx.router.readGlobal('crew_get', consistencyOf(options, 'session'), async (conn) => {
      const [row] = await conn.rows<Record<string, unknown>>('SELECT * FROM crews WHERE crew_id = ?', [crew]);
      if (!row) throw new NotFoundError('crew', crew);
      const members = await conn.rows<{ character_id: number; position: string; join_date: Date }>(
        'SELECT character_id, position, join_date FROM crew_members WHERE crew_id = ? ORDER BY join_date, character_id',
        [crew],
      );
      return {
        crewId: crew,
        crewName: String(row.crew_name),
        captainId: row.captain_id === null ? null : Number(row.captain_id),
        organizationId: row.organization_id === null ? null : Number(row.organization_id),
        memberCount: Number(row.member_count),
        maxMembers: Number(row.max_members),
        bank: Number(row.bank_amount),
        members: members.map((m) => ({ characterId: Number(m.character_id), role: crews.roleOf(m.position), joinDate: m.join_date })),
      };
    });
  }

  /**
   * A crew by name as the crew window shows it (bank as `money`, members with handle, role and
   * online status), in one statement on global; null when there is none.
   * @example const crew = await db.crews.byName('Nebuchadnezzar'); // { crewId, name, captainId, organizationId, money, members }
   */
  async byName(name: string, options: { consistency?: Consistency } = {}): Promise<CrewView | null> {
    const crewName = parseInput(varcharColumn(64, 1), name, 'crew name');
    return this.ctx.router.readGlobal('crew_by_name', consistencyOf(options, 'session'), (conn) => readCrewView(conn, { name: crewName }));
  }

  /**
   * The crew a character is in, as {@link byName} returns it; null when in none.
   * @example const crew = await db.crews.ofCharacter(characterId);
   */
  async ofCharacter(characterId: number, options: { consistency?: Consistency } = {}): Promise<CrewView | null> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readGlobal('crew_of_character', consistencyOf(options, 'session'), (conn) =>
      readCrewView(conn, { characterId: cid }),
    );
  }

  private async move(kind: CrewBankMove['kind'], crewId: number, characterId: number, money: number, options: CrewBankOptions) {
    const crew = parseInput(id, crewId, 'crew id');
    const cid = parseInput(id, characterId, 'character id');
    const value = parseInput(amount, money, 'amount');
    const { fencingToken, ...keyed } = options;
    const { idempotencyKey } = parseInput(bankOptions, keyed, 'options');
    return this.ctx.router.onCharacter(
      `crew_${kind}`,
      cid,
      async (conn, route, tx) =>
        moveCrewBankMoney(conn, route.shard, () => tx.branch(GLOBAL), {
          kind,
          crewId: crew,
          characterId: cid,
          amount: value,
          idempotencyKey,
        }),
      { ...fencing({ fencingToken }), withGlobal: true },
    );
  }
}
