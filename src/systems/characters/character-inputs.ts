/** Character inputs and results: the public shapes and their zod schemas (src/systems/characters/characters*.ts use them). */
import { z } from 'zod';
import { schemaFor } from '../../validate.js';
import * as identity from '../shared/character-identity.js';
import * as limits from '../shared/client-limits.js';
import { startingAbilitiesSchema, startingItemsSchema, type StartingAbility, type StartingItem } from './character-kit.js';

export const ARCHETYPES = ['hacker', 'martial_artist', 'spy'] as const;
export const GENDERS = ['male', 'female'] as const;
/** transaction_history types a plain money adjustment may use (trades have their own call). */
export const MONEY_REASONS = ['quest_reward', 'vendor_sale', 'vendor_purchase', 'admin_grant', 'drop_loot', 'repair_cost'] as const;
export type MoneyReason = (typeof MONEY_REASONS)[number];

/** @internal Character (and other INT) ids: the one id schema (src/systems/shared/fields.ts). */
export { id } from '../shared/fields.js';
import { id } from '../shared/fields.js';
/** @internal Districts are numbered from 0 (the tutorial); the loading area is 0x385: the one schema of src/systems/shared/fields.ts. */
export { districtId as districtIdSchema } from '../shared/fields.js';
import { districtId as districtIdSchema } from '../shared/fields.js';
/** The archetype of a character created without one (the client does not send it). */
export const DEFAULT_ARCHETYPE = 'hacker' as const;

/** A new character; everything lands in one transaction (step two of creation, after reserveName). */
export interface CharacterCreateInput {
  accountId: number;
  /**
   * The client's handle: 1-31 letters or digits of its single-byte set (ISO-8859-1), then also _ ' -; no spaces. Unique cluster-wide.
   * Required unless `characterId` is given (the reserved name is used then; given, it must be that name).
   */
  name?: string;
  /**
   * The id `reserveName` returned (the client's name reply carried it): the character gets it.
   * It must be reserved by this account and still live, else InvalidStateError (`not_reserved`,
   * `reservation_expired`) and nothing is written.
   */
  characterId?: number;
  /** Default {@link DEFAULT_ARCHETYPE}. */
  archetype?: (typeof ARCHETYPES)[number];
  /** Default from `appearance.sex` (0 male, 1 female), else male. */
  gender?: (typeof GENDERS)[number];
  /** Appearance data (default `{}`): the typed RSI fields (sex, body, face, hair, hairColor, ...) are checked; other keys kept as given. */
  appearance?: AppearanceInput;
  firstName?: string;
  lastName?: string;
  background?: string;
  /** Items in client slots: backpack 0x00-0x60, worn clothing 0x61-0x68 (drawn in the appearance). */
  startingItems?: StartingItem[];
  /** Learned at creation: ids, or with a level (0 allowed) and loadout slots (`slots: [12, 13]`); e.g. `MXO_HD_STARTING_ABILITIES`. */
  startingAbilities?: readonly StartingAbility[];
  /** The starting district; its shard becomes the character's home. */
  districtId: number;
}

type AppearanceInput = identity.Appearance & Record<string, unknown>;
/** @internal Known RSI fields must be valid; other appearance keys are free-form (older callers). */
export const appearanceInput = z
  .record(z.string(), z.unknown())
  .default({})
  .superRefine((a, ctx) => {
    const known = Object.fromEntries(Object.entries(a).filter(([k]) => (identity.APPEARANCE_FIELDS as readonly string[]).includes(k)));
    if (Object.keys(known).length === 0) return;
    const parsed = identity.appearanceSchema.safeParse(known);
    if (!parsed.success)
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }) as unknown as z.ZodDefault<z.ZodType<AppearanceInput, AppearanceInput>>; // the refinement checks the typed fields

/** @internal */
export const createInput = schemaFor<CharacterCreateInput>()(
  z
    .object({
      accountId: id,
      name: limits.handle.optional(),
      characterId: id.optional(),
      archetype: z.enum(ARCHETYPES).default(DEFAULT_ARCHETYPE),
      gender: z.enum(GENDERS).optional(),
      appearance: appearanceInput,
      firstName: limits.clientName.optional(),
      lastName: limits.clientName.optional(),
      background: limits.background.optional(),
      startingItems: startingItemsSchema.default([]),
      startingAbilities: startingAbilitiesSchema.default([]),
      districtId: districtIdSchema,
    })
    .strict()
    .refine((c) => c.name !== undefined || c.characterId !== undefined, { path: ['name'], message: 'required without characterId' })
    .refine((c) => c.gender === undefined || c.appearance.sex === undefined || GENDERS[Number(c.appearance.sex)] === c.gender, {
      path: ['gender'],
      message: 'disagrees with appearance.sex (0 male, 1 female)',
    })
    .superRefine((c, ctx) => {
      // The RSI widths depend on the sex: the one given, else the gender's, else male.
      const sex = typeof c.appearance.sex === 'number' ? c.appearance.sex : c.gender === 'female' ? 1 : 0;
      for (const issue of limits.rsiIssues(c.appearance, sex))
        ctx.addIssue({ code: 'custom', path: ['appearance', issue.field], message: issue.message });
    }),
);
/** @internal */
export { idempotencyOptions } from '../shared/fields.js';
/** @internal */
export const moneyInput = z.object({
  characterId: id,
  // transaction_history.money_amount is a signed INT.
  delta: z
    .number()
    .int()
    .refine((n) => n !== 0, 'must not be 0')
    .refine((n) => Math.abs(n) <= 2_147_483_647, 'out of range'),
  reason: z.enum(MONEY_REASONS),
});

/** A character as the library returns it (camelCase; `shard` says where its rows live). */
export interface Character {
  characterId: number;
  accountId: number;
  characterName: string;
  archetype: (typeof ARCHETYPES)[number];
  gender: (typeof GENDERS)[number];
  appearance: Record<string, unknown>;
  level: number;
  experience: number;
  faction: string;
  districtId: number;
  position: { x: number; y: number; z: number };
  money: number;
  isOnline: boolean;
  shard: string;
}
