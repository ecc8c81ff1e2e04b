/**
 * Ability mastery: each use earns points; the percentage follows from the points by one rule
 * (applied in SQL by the write-behind flush, see src/systems/abilities/ability-uses.ts).
 */

/** Mastery points one use of an ability earns. */
export const MASTERY_POINTS_PER_USE = 1;

/** Points at which an ability is 100% mastered. */
export const MASTERY_POINTS_FULL = 1000;

/** The mastery percentage of `points` (0..100). */
export function masteryPercentage(points: number): number {
  return Math.min(100, (points * 100) / MASTERY_POINTS_FULL);
}
