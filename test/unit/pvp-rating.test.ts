/** The PvP rating rule (Elo, K = 32, floor 100) and its rank bands, without a database. */
import { describe, expect, it } from 'vitest';
import { K_FACTOR, RATING_FLOOR, expectedScore, nextRating, rankOf } from '../../src/systems/combat/pvp-rating.js';

describe('Elo', () => {
  it('expects 0.5 between equals, and the two expectations sum to 1', () => {
    expect(expectedScore(1200, 1200)).toBe(0.5);
    for (const [a, b] of [
      [1000, 1400],
      [2000, 1100],
      [100, 2500],
    ] as const)
      expect(expectedScore(a, b) + expectedScore(b, a)).toBeCloseTo(1, 12);
    // 400 points apart: 10:1 odds.
    expect(expectedScore(1600, 1200)).toBeCloseTo(10 / 11, 12);
  });

  it('moves equals by K/2 for a win or a loss, not at all for a draw', () => {
    expect(nextRating(1200, 1200, 'win')).toBe(1200 + K_FACTOR / 2);
    expect(nextRating(1200, 1200, 'loss')).toBe(1200 - K_FACTOR / 2);
    expect(nextRating(1200, 1200, 'draw')).toBe(1200);
  });

  it('pays an upset more than an expected win, rounded to whole points', () => {
    const upset = nextRating(1000, 1400, 'win') - 1000;
    const expected = nextRating(1400, 1000, 'win') - 1400;
    expect(upset).toBe(Math.round(K_FACTOR * (10 / 11)));
    expect(expected).toBe(Math.round(K_FACTOR * (1 / 11)));
  });

  it('never goes below the floor', () => {
    expect(nextRating(RATING_FLOOR, 3000, 'loss')).toBe(RATING_FLOOR);
    expect(nextRating(RATING_FLOOR + 5, RATING_FLOOR + 5, 'loss')).toBe(RATING_FLOOR);
  });
});

describe('rankOf', () => {
  it('bands the rating, each band starting at its threshold', () => {
    expect([0, 1099, 1100, 1299, 1300, 1599, 1600, 1999, 2000, 3000].map(rankOf)).toEqual([
      'Bronze',
      'Bronze',
      'Silver',
      'Silver',
      'Gold',
      'Gold',
      'Diamond',
      'Diamond',
      'Master',
      'Master',
    ]);
  });
});
