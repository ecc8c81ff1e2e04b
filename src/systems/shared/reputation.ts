/**
 * Faction standing: points from -1000 to +1000 (the seed's range) and the reputation level they
 * give. The one rule every writer of character_faction_standings uses.
 */

export const FACTIONS = ['zion', 'machine', 'merovingian'] as const;
export type Faction = (typeof FACTIONS)[number];

export const REPUTATION_LEVELS = ['hostile', 'unfriendly', 'neutral', 'friendly', 'ally', 'champion'] as const;
export type ReputationLevel = (typeof REPUTATION_LEVELS)[number];

export const MIN_STANDING = -1000;
export const MAX_STANDING = 1000;

/** Lower bound (inclusive) of each level above hostile. */
const THRESHOLDS: Array<[number, ReputationLevel]> = [
  [900, 'champion'],
  [500, 'ally'],
  [100, 'friendly'],
  [-100, 'neutral'],
  [-500, 'unfriendly'],
];

/** Points clamped into the seed's range. */
export function clampStanding(points: number): number {
  return Math.min(MAX_STANDING, Math.max(MIN_STANDING, points));
}

/** hostile < -500 <= unfriendly < -100 <= neutral < 100 <= friendly < 500 <= ally < 900 <= champion. */
export function reputationLevel(points: number): ReputationLevel {
  for (const [floor, level] of THRESHOLDS) if (points >= floor) return level;
  return 'hostile';
}
