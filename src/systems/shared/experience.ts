import { StaleRouteError } from '../../errors.js';
import { applyExperience, type LevelCurve, type Progression } from './level-curve.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';

/**
 * The one level-up path: adds experience to a character inside the caller's transaction
 * (characters.gainExperience and missions.complete both use it), levels by `curve`.
 */
export async function grantExperience(
  conn: PooledConnection,
  characterId: number,
  shard: string,
  gained: number,
  curve: LevelCurve,
): Promise<Progression> {
  const [row] = await conn.rows<{ level: number; experience: number }>(
    'SELECT level, experience FROM characters WHERE character_id = ? FOR UPDATE',
    [characterId],
  );
  if (!row) throw new StaleRouteError(characterId, shard);
  const next = applyExperience(curve, { level: Number(row.level ?? 1), experience: Number(row.experience ?? 0) }, gained);
  if (gained > 0) {
    await conn.exec('UPDATE characters SET level = ?, experience = ? WHERE character_id = ?', [next.level, next.experience, characterId]);
  }
  return next;
}
