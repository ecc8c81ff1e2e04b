import { nextRating, rankOf, type Outcome } from './pvp-rating.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';

/** One player's PvP standing after an encounter. */
export interface PvpStanding {
  characterId: number;
  totalPvpEncounters: number;
  pvpWins: number;
  pvpLosses: number;
  pvpDraws: number;
  interlockEncounters: number;
  interlockWins: number;
  interlockLosses: number;
  totalPvpDamageDealt: number;
  totalPvpDamageReceived: number;
  highestSingleHit: number;
  currentWinStreak: number;
  bestWinStreak: number;
  currentLossStreak: number;
  pvpRating: number;
  pvpRank: string;
}

/** Adds one PvP encounter to a player's pvp_statistics (row locked by the caller) and returns the new standing. */
export async function updatePvp(
  conn: PooledConnection,
  cid: number,
  outcome: Outcome | undefined,
  rating: number,
  opponent: number,
  interlock: boolean,
  dealt: number,
  received: number,
  hit: number,
): Promise<PvpStanding> {
  const newRating = outcome ? nextRating(rating, opponent, outcome) : rating;
  const win = outcome === 'win' ? 1 : 0;
  const loss = outcome === 'loss' ? 1 : 0;
  // Streaks: a win extends the win streak and ends the loss streak, a loss the reverse; a draw
  // or an unfinished fight (fled, interrupted) leaves both as they were.
  await conn.exec(
    `UPDATE pvp_statistics SET total_pvp_encounters = total_pvp_encounters + 1,
       pvp_wins = pvp_wins + ?, pvp_losses = pvp_losses + ?, pvp_draws = pvp_draws + ?,
       interlock_encounters = interlock_encounters + ?, interlock_wins = interlock_wins + ?, interlock_losses = interlock_losses + ?,
       total_pvp_damage_dealt = total_pvp_damage_dealt + ?, total_pvp_damage_received = total_pvp_damage_received + ?,
       highest_single_hit = GREATEST(highest_single_hit, ?),
       current_win_streak = CASE WHEN ? THEN current_win_streak + 1 WHEN ? THEN 0 ELSE current_win_streak END,
       current_loss_streak = CASE WHEN ? THEN current_loss_streak + 1 WHEN ? THEN 0 ELSE current_loss_streak END,
       best_win_streak = GREATEST(best_win_streak, current_win_streak), -- assignments run left to right
       pvp_rating = ?, pvp_rank = ?, season_wins = season_wins + ?, season_losses = season_losses + ?
     WHERE character_id = ?`,
    [
      win,
      loss,
      outcome === 'draw' ? 1 : 0,
      interlock ? 1 : 0,
      interlock ? win : 0,
      interlock ? loss : 0,
      dealt,
      received,
      hit,
      win,
      loss,
      loss,
      win,
      newRating,
      rankOf(newRating),
      win,
      loss,
      cid,
    ],
  );
  const [row] = await conn.rows<Record<string, unknown>>('SELECT * FROM pvp_statistics WHERE character_id = ?', [cid]);
  return toStanding(row!);
}

/** A pvp_statistics row in camelCase. */
export function toStanding(r: Record<string, unknown>): PvpStanding {
  const n = (k: string, d = 0) => (r[k] === null || r[k] === undefined ? d : Number(r[k]));
  return {
    characterId: n('character_id'),
    totalPvpEncounters: n('total_pvp_encounters'),
    pvpWins: n('pvp_wins'),
    pvpLosses: n('pvp_losses'),
    pvpDraws: n('pvp_draws'),
    interlockEncounters: n('interlock_encounters'),
    interlockWins: n('interlock_wins'),
    interlockLosses: n('interlock_losses'),
    totalPvpDamageDealt: n('total_pvp_damage_dealt'),
    totalPvpDamageReceived: n('total_pvp_damage_received'),
    highestSingleHit: n('highest_single_hit'),
    currentWinStreak: n('current_win_streak'),
    bestWinStreak: n('best_win_streak'),
    currentLossStreak: n('current_loss_streak'),
    pvpRating: n('pvp_rating', 1000),
    pvpRank: r.pvp_rank === null || r.pvp_rank === undefined ? 'Unranked' : String(r.pvp_rank),
  };
}
