/**
 * The PvP rating rule: classic Elo (the seed calls `pvp_statistics.pvp_rating` "ELO-style").
 *
 * - Expected score of A against B: `E_A = 1 / (1 + 10^((R_B - R_A) / 400))`.
 * - New rating: `R_A' = round(R_A + K * (S_A - E_A))`, with `S_A` = 1 for a win, 0.5 for a draw,
 *   0 for a loss, and `K` = 32 (the common value for players with few games).
 * - Ratings never go below {@link RATING_FLOOR}, so a long losing streak cannot drive a
 *   rating negative.
 * - The rank (`pvp_rank`) is a band of the new rating: see {@link rankOf}.
 *
 * Every call records one encounter between two players; both players' new ratings are computed
 * from their ratings before the encounter (read under lock in the same transaction).
 */
export const K_FACTOR = 32;
export const RATING_FLOOR = 100;

export type Outcome = 'win' | 'loss' | 'draw';

const SCORE: Record<Outcome, number> = { win: 1, draw: 0.5, loss: 0 };

/** The expected score of a player rated `rating` against one rated `opponent` (0..1). */
export function expectedScore(rating: number, opponent: number): number {
  return 1 / (1 + 10 ** ((opponent - rating) / 400));
}

/** The new rating of a player after one game with `outcome` against `opponent`. */
export function nextRating(rating: number, opponent: number, outcome: Outcome): number {
  return Math.max(RATING_FLOOR, Math.round(rating + K_FACTOR * (SCORE[outcome] - expectedScore(rating, opponent))));
}

/** Rank bands of the rating (an unranked player has played no PvP encounter yet). */
const BANDS: Array<[number, string]> = [
  [2000, 'Master'],
  [1600, 'Diamond'],
  [1300, 'Gold'],
  [1100, 'Silver'],
  [0, 'Bronze'],
];

/** The rank name of a rating. */
export function rankOf(rating: number): string {
  return BANDS.find(([min]) => rating >= min)![1];
}
