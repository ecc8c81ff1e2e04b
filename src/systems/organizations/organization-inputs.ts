import { z } from 'zod';
import { idempotencyOptions, textColumn, varcharColumn, id } from '../shared/fields.js';
import { schemaFor } from '../../validate.js';

/** Organizations' inputs and results: the public shapes and the schemas that validate them (organizations.ts uses them). */

/** Permission bit of organization_members.permissions: may withdraw from the treasury. */
export const ORG_PERMISSION_TREASURY = 1;
/** Permission bit that allows setting the ranks of members below one's own rank (the leader always may). */
export const ORG_PERMISSION_RANKS = 2;
/** @internal Every permission bit (the leader's). */
export const ALL_PERMISSIONS = 0x7fffffff;

/** @internal */
export const createInput = z
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
/** @internal */
export const rankInput = z
  .object({
    rankName: varcharColumn(32, 1),
    rankLevel: z.number().int().min(0).max(127),
    permissions: z.number().int().min(0).max(ALL_PERMISSIONS).optional(),
  })
  .strict();
/** @internal */
export const fromCrewsInput = z
  .object({
    name: varcharColumn(64, 3),
    crewIds: z
      .array(id)
      .min(1)
      .max(64)
      .refine((c) => new Set(c).size === c.length, 'a crew appears twice'),
    masterId: id,
    faction: z.enum(['zion', 'machine', 'merovingian']).optional(),
  })
  .strict();
/** money_amount in transaction_history is an INT. */
/** @internal */
export const moneyOptions = idempotencyOptions;

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

/** Who sets a rank (docs/design.md, "Trust boundary"). */
export interface SetRankOptions {
  /** The acting character; its right is checked in the same transaction. */
  actorId?: number;
}

/** @internal */
export const setRankOptions = schemaFor<SetRankOptions>()(z.object({ actorId: id.optional() }).strict());

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
