import { z } from 'zod';
import type { Same } from '../../validate.js';
import { schemaFor } from '../../validate.js';
import { ATTRIBUTES, MAX_ATTRIBUTE, type AttributeName } from './attributes.js';
import { u16 } from '../shared/client-limits.js';

/** Input schemas of characters.gainExperience / updateVitals / setAttributes. */

const INT_MAX = 2_147_483_647;
const atLeastOne = (o: object) => Object.values(o).some((v) => v !== undefined);

/** @internal */
export const experienceSchema = z.number().int().min(1).max(INT_MAX);

/** @internal */
export const vitalsSchema = z
  // The client's 16-bit Health and InnerStrength attributes.
  .object({ health: u16.optional(), innerStrength: u16.optional() })
  .strict()
  .refine(atLeastOne, 'at least one of health, innerStrength');

/** @internal */
export const attributesSchema = z
  .object(
    Object.fromEntries(ATTRIBUTES.map((a) => [a, z.number().int().min(0).max(MAX_ATTRIBUTE).optional()])) as Record<
      AttributeName,
      z.ZodOptional<z.ZodNumber>
    >,
  )
  .strict()
  .refine(atLeastOne, 'at least one attribute');

/** Current vitals; above the character's maxima they are clamped to them when written. */
export interface VitalsInput {
  health?: number;
  innerStrength?: number;
}

/** Attributes to set (0..127 each); the vitals maxima follow from vitality and focus. */
export type AttributesInput = Partial<Record<AttributeName, number>>;

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [Same<z.input<typeof vitalsSchema>, VitalsInput>, Same<z.input<typeof attributesSchema>, AttributesInput>] = [true, true];
void agrees;
