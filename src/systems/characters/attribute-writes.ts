import { ATTRIBUTES, vitalsMaxima, type AttributeName } from './attributes.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';

/** A character's attributes and vitals after a change. */
export interface Attributes {
  vitality: number;
  focus: number;
  perception: number;
  reason: number;
  belief: number;
  maxHealth: number;
  maxInnerStrength: number;
  health: number;
  innerStrength: number;
}

/**
 * Sets the given attributes inside the caller's transaction (the character's row is locked),
 * derives the vitals maxima (src/systems/characters/attributes.ts) and clamps current vitals to them.
 */
export async function writeAttributes(
  conn: PooledConnection,
  characterId: number,
  patch: Partial<Record<AttributeName, number>>,
): Promise<Attributes> {
  const names = ATTRIBUTES.filter((a) => patch[a] !== undefined);
  await conn.exec(`UPDATE characters SET ${names.map((n) => `${n} = ?`).join(', ')} WHERE character_id = ?`, [
    ...names.map((n) => patch[n]),
    characterId,
  ]);
  const [row] = await conn.rows<Record<AttributeName, number>>(`SELECT ${ATTRIBUTES.join(', ')} FROM characters WHERE character_id = ?`, [
    characterId,
  ]);
  const a = Object.fromEntries(ATTRIBUTES.map((n) => [n, Number(row![n])])) as Record<AttributeName, number>;
  const { maxHealth, maxInnerStrength } = vitalsMaxima(a);
  await conn.exec(
    `UPDATE characters SET max_health = ?, max_inner_strength = ?, health = LEAST(health, ?), inner_strength = LEAST(inner_strength, ?)
      WHERE character_id = ?`,
    [maxHealth, maxInnerStrength, maxHealth, maxInnerStrength, characterId],
  );
  const [v] = await conn.rows<{ health: number; inner_strength: number }>(
    'SELECT health, inner_strength FROM characters WHERE character_id = ?',
    [characterId],
  );
  return { ...a, maxHealth, maxInnerStrength, health: Number(v!.health), innerStrength: Number(v!.inner_strength) };
}
