/**
 * The level curve: how much experience each level needs, and the level cap. Pure rules, kept in
 * this one file; every call that grants experience (characters.gainExperience, missions.complete)
 * goes through {@link applyExperience}.
 */

/** `experience` is an INT column; totals stop here instead of overflowing. */
export const MAX_EXPERIENCE = 2_147_483_647;

/** A level curve: total experience needed to reach each level, up to a cap. */
export interface LevelCurve {
  /** The highest level a character can reach (characters.level is a TINYINT: at most 127). */
  readonly maxLevel: number;
  /** Total experience needed to reach `level` (1 needs 0); non-decreasing in `level`. */
  experienceFor(level: number): number;
}

/** Options of {@link levelCurve}: `base * (level - 1) ^ exponent` total experience per level. */
export interface LevelCurveOptions {
  /** Default 50 (the game's cap). */
  maxLevel?: number;
  /** Default 100: level 2 at 100 experience. */
  base?: number;
  /** Default 2: level 3 at 400, level 10 at 8,100, level 50 at 240,100. */
  exponent?: number;
}

/**
 * A polynomial curve. Throws on a cap outside 1..127 or a curve that would not fit the INT
 * experience column.
 *
 * @example
 * const curve = levelCurve({ maxLevel: 60, base: 150 });
 * curve.experienceFor(2); // 150
 */
export function levelCurve(options: LevelCurveOptions = {}): LevelCurve {
  const maxLevel = options.maxLevel ?? 50;
  const base = options.base ?? 100;
  const exponent = options.exponent ?? 2;
  if (!Number.isInteger(maxLevel) || maxLevel < 1 || maxLevel > 127) throw new RangeError('maxLevel must be 1..127');
  if (!(base > 0) || !(exponent > 0)) throw new RangeError('base and exponent must be positive');
  const table = Array.from({ length: maxLevel + 1 }, (_, level) => (level <= 1 ? 0 : Math.round(base * (level - 1) ** exponent)));
  if (table[maxLevel]! > MAX_EXPERIENCE) throw new RangeError('the curve needs more experience than the column holds');
  return { maxLevel, experienceFor: (level) => table[Math.min(Math.max(level, 1), maxLevel)]! };
}

/** The curve used unless one is configured: cap 50, `100 * (level - 1)^2`. */
export const DEFAULT_LEVEL_CURVE: LevelCurve = levelCurve();

/** The level a total of `experience` reaches on `curve` (never above the cap). */
export function levelFor(curve: LevelCurve, experience: number): number {
  let level = 1;
  while (level < curve.maxLevel && curve.experienceFor(level + 1) <= experience) level++;
  return level;
}

/** A character's progression after a gain. */
export interface Progression {
  level: number;
  experience: number;
  levelsGained: number;
  /** Experience actually added (less than asked only at the column's maximum). */
  experienceGained: number;
}

/**
 * Adds `gained` experience: several level-ups at once when it crosses several thresholds, never
 * past the cap (experience still accumulates at the cap, up to the column's maximum). A level
 * is never lost (a character above the curve, e.g. set by an older curve, keeps its level).
 */
export function applyExperience(curve: LevelCurve, current: { level: number; experience: number }, gained: number): Progression {
  const experience = Math.min(MAX_EXPERIENCE, current.experience + gained);
  const level = Math.max(current.level, levelFor(curve, experience));
  return { level, experience, levelsGained: level - current.level, experienceGained: experience - current.experience };
}
