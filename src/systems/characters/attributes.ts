/**
 * Attributes and the vitals maxima they give. The seed's defaults fit this rule: vitality 20 ->
 * max_health 200, focus 20 -> max_inner_strength 160.
 */

export const ATTRIBUTES = ['vitality', 'focus', 'perception', 'reason', 'belief'] as const;
export type AttributeName = (typeof ATTRIBUTES)[number];

/** Attributes are TINYINT columns. */
export const MAX_ATTRIBUTE = 127;

export const HEALTH_PER_VITALITY = 10;
export const INNER_STRENGTH_PER_FOCUS = 8;

/** The vitals maxima of a character with these attributes. */
export function vitalsMaxima(a: { vitality: number; focus: number }): { maxHealth: number; maxInnerStrength: number } {
  return { maxHealth: a.vitality * HEALTH_PER_VITALITY, maxInnerStrength: a.focus * INNER_STRENGTH_PER_FOCUS };
}
