import { clampStanding, reputationLevel, type Faction, type ReputationLevel } from './reputation.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';

/** A character's standing with one faction after a change. */
export interface StandingChange {
  faction: Faction;
  standingPoints: number;
  reputationLevel: ReputationLevel;
  /** The change actually applied (less than asked at the range's ends). */
  change: number;
}

/**
 * Adds `delta` to a character's standing with `faction` inside the caller's transaction (the
 * caller holds the character's row lock), clamped to -1000..1000, with the reputation level
 * derived by the one rule in src/systems/shared/reputation.ts.
 */
export async function adjustStandingRow(
  conn: PooledConnection,
  characterId: number,
  faction: Faction,
  delta: number,
): Promise<StandingChange> {
  const [row] = await conn.rows<{ standing_points: number | null }>(
    'SELECT standing_points FROM character_faction_standings WHERE character_id = ? AND faction = ? FOR UPDATE',
    [characterId, faction],
  );
  const before = Number(row?.standing_points ?? 0);
  const standingPoints = clampStanding(before + delta);
  const level = reputationLevel(standingPoints);
  await conn.exec(
    `INSERT INTO character_faction_standings (character_id, faction, standing_points, reputation_level) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE standing_points = VALUES(standing_points), reputation_level = VALUES(reputation_level)`,
    [characterId, faction, standingPoints, level],
  );
  return { faction, standingPoints, reputationLevel: level, change: standingPoints - before };
}
