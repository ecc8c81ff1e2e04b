import { z } from 'zod';
import type { Same } from '../../validate.js';
import { schemaFor } from '../../validate.js';
import { textColumn, varcharColumn, id } from './fields.js';
import { FACTIONS, type Faction } from './reputation.js';

/**
 * Mission templates: the input schema (validated before any SQL) and the shape the library
 * returns. Rules about what a template means live in src/systems/missions/mission-checks.ts (requirements)
 * and src/systems/missions/mission-rewards.ts (rewards).
 */

export const MISSION_TYPES = ['story', 'side', 'daily', 'faction', 'organization', 'event'] as const;
export type MissionType = (typeof MISSION_TYPES)[number];
export const MISSION_STATUSES = ['available', 'accepted', 'in_progress', 'completed', 'failed', 'abandoned'] as const;
export type MissionStatus = (typeof MISSION_STATUSES)[number];

const INT_MAX = 2_147_483_647;
const tinyint = z.number().int().min(1).max(127);
const itemQuantity = z.object({ templateId: id, quantity: z.number().int().min(1).max(INT_MAX).default(1) }).strict();

/** @internal */
export const missionTemplateSchema = z
  .object({
    missionName: varcharColumn(128, 1),
    missionDescription: textColumn().default(''),
    missionType: z.enum(MISSION_TYPES),
    difficultyLevel: tinyint.default(1),
    recommendedPlayers: tinyint.default(1),
    levelRequirement: tinyint.default(1),
    factionRequirement: z.enum(FACTIONS).nullable().default(null),
    prerequisiteMissions: z.array(id).max(100).default([]),
    requiredItems: z.array(itemQuantity).max(50).default([]),
    objectives: z
      .array(z.object({ description: varcharColumn(1000, 1), required: z.number().int().min(1).max(INT_MAX).default(1) }).strict())
      .min(1)
      .max(64),
    experienceReward: z.number().int().min(0).max(INT_MAX).default(0),
    moneyReward: z.number().int().min(0).max(INT_MAX).default(0),
    itemRewards: z.array(itemQuantity).max(50).default([]),
    factionStandingRewards: z
      .object(
        Object.fromEntries(FACTIONS.map((f) => [f, z.number().int().min(-2000).max(2000).optional()])) as Record<
          Faction,
          z.ZodOptional<z.ZodNumber>
        >,
      )
      .strict()
      .default({}),
    repeatable: z.boolean().default(false),
    cooldownSec: z.number().int().min(0).max(INT_MAX).default(0),
    isActive: z.boolean().default(true),
  })
  .strict();

/** An item template and how many of it (required items, item rewards). */
export interface ItemQuantity {
  templateId: number;
  quantity: number;
}

/** Input of `missions.defineTemplate`; everything but name, type and objectives has a default. */
export interface MissionTemplateInput {
  missionName: string;
  missionDescription?: string;
  missionType: MissionType;
  difficultyLevel?: number;
  recommendedPlayers?: number;
  /** Minimum character level (default 1). */
  levelRequirement?: number;
  /** The character's faction must be this one. */
  factionRequirement?: Faction | null;
  /** Missions the character must have completed first. */
  prerequisiteMissions?: number[];
  /** Items the character must hold to accept (checked, not consumed). */
  requiredItems?: Array<{ templateId: number; quantity?: number }>;
  objectives: Array<{ description: string; required?: number }>;
  experienceReward?: number;
  moneyReward?: number;
  itemRewards?: Array<{ templateId: number; quantity?: number }>;
  /** Standing points per faction on completion, e.g. `{ zion: 10, machine: -5 }`. */
  factionStandingRewards?: Partial<Record<Faction, number>>;
  /** Whether the mission can be completed again (default false). */
  repeatable?: boolean;
  /** Seconds after a completion before a repeatable mission can be accepted again. */
  cooldownSec?: number;
  isActive?: boolean;
}

/** A mission template as stored (the same on global and every shard). */
export interface MissionTemplate {
  missionId: number;
  missionName: string;
  missionDescription: string;
  missionType: MissionType;
  difficultyLevel: number;
  recommendedPlayers: number;
  levelRequirement: number;
  factionRequirement: Faction | null;
  prerequisiteMissions: number[];
  requiredItems: ItemQuantity[];
  objectives: Array<{ description: string; required: number }>;
  experienceReward: number;
  moneyReward: number;
  itemRewards: ItemQuantity[];
  factionStandingRewards: Partial<Record<Faction, number>>;
  repeatable: boolean;
  cooldownSec: number;
  isActive: boolean;
}

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [Same<z.input<typeof missionTemplateSchema>, MissionTemplateInput>] = [true];
void agrees;
