/** The level curve, without a database: thresholds, the cap, multi-level gains, the INT ceiling. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LEVEL_CURVE, MAX_EXPERIENCE, applyExperience, levelCurve, levelFor } from '../../src/systems/shared/level-curve.js';

describe('levelCurve', () => {
  it('is 100 * (level - 1)^2 by default, capped at 50', () => {
    const c = DEFAULT_LEVEL_CURVE;
    expect(c.maxLevel).toBe(50);
    expect([1, 2, 3, 10, 50].map((l) => c.experienceFor(l))).toEqual([0, 100, 400, 8_100, 240_100]);
    // Out-of-range levels read as the nearest end, never undefined.
    expect(c.experienceFor(0)).toBe(0);
    expect(c.experienceFor(51)).toBe(240_100);
  });

  it('is non-decreasing for any valid options', () => {
    for (const options of [{}, { maxLevel: 127, base: 1, exponent: 1 }, { maxLevel: 60, base: 150, exponent: 2.5 }]) {
      const c = levelCurve(options);
      for (let l = 1; l < c.maxLevel; l++) expect(c.experienceFor(l + 1)).toBeGreaterThanOrEqual(c.experienceFor(l));
    }
  });

  it('refuses a cap outside 1..127, a non-positive base or exponent, and a curve past the INT column', () => {
    expect(() => levelCurve({ maxLevel: 0 })).toThrow(RangeError);
    expect(() => levelCurve({ maxLevel: 128 })).toThrow(RangeError);
    expect(() => levelCurve({ maxLevel: 2.5 })).toThrow(RangeError);
    expect(() => levelCurve({ base: 0 })).toThrow(RangeError);
    expect(() => levelCurve({ exponent: -1 })).toThrow(RangeError);
    expect(() => levelCurve({ maxLevel: 127, base: 1_000_000 })).toThrow(/column/);
  });
});

describe('levelFor and applyExperience', () => {
  it('reaches a level exactly at its threshold, not one point before', () => {
    expect(levelFor(DEFAULT_LEVEL_CURVE, 99)).toBe(1);
    expect(levelFor(DEFAULT_LEVEL_CURVE, 100)).toBe(2);
    expect(levelFor(DEFAULT_LEVEL_CURVE, 10_000_000)).toBe(50);
  });

  it('gains several levels at once and stops at the cap, experience still counting', () => {
    expect(applyExperience(DEFAULT_LEVEL_CURVE, { level: 1, experience: 0 }, 8_100)).toEqual({
      level: 10,
      experience: 8_100,
      levelsGained: 9,
      experienceGained: 8_100,
    });
    const capped = applyExperience(DEFAULT_LEVEL_CURVE, { level: 50, experience: 240_100 }, 1_000);
    expect(capped).toMatchObject({ level: 50, experience: 241_100, levelsGained: 0 });
  });

  it('never adds past the INT column and never takes a level away', () => {
    expect(applyExperience(DEFAULT_LEVEL_CURVE, { level: 50, experience: MAX_EXPERIENCE - 5 }, 100)).toMatchObject({
      experience: MAX_EXPERIENCE,
      experienceGained: 5,
    });
    // A character above the curve (set by an older, gentler curve) keeps its level.
    expect(applyExperience(DEFAULT_LEVEL_CURVE, { level: 20, experience: 100 }, 1)).toMatchObject({ level: 20, levelsGained: 0 });
  });
});
