import { z } from 'zod';
import type { Same } from '../../validate.js';
import { schemaFor } from '../../validate.js';
import { NotFoundError, RequirementError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { clientObjectId } from './client-ids.js';

/** @internal
 * Ability ids are the client's unsigned 32-bit object ids (high bit set): the signed form is
 * accepted and the unsigned one stored (INT UNSIGNED, reference 081 / shard 081). 0 is no ability.
 */
export const abilityIdSchema = clientObjectId.refine((n) => n > 0, 'an ability id, not 0');

/** A learned ability (a row of character_abilities). */
export interface CharacterAbility {
  abilityId: number;
  abilityName: string | null;
  abilityLevel: number;
  masteryPoints: number;
  masteryPercentage: number;
  timesUsed: number;
  lastUsed: Date | null;
}

/** One slot of the loadout. */
export interface LoadoutSlot {
  /** 0-65535 (character_ability_slots.slot_number). */
  slot: number;
  abilityId: number;
  loaded: boolean;
}

/** @internal */
export const loadoutSchema = z
  .array(z.object({ slot: z.number().int().min(0).max(65_535), abilityId: abilityIdSchema, loaded: z.boolean().default(false) }).strict())
  .max(1024)
  .refine((l) => new Set(l.map((s) => s.slot)).size === l.length, 'a slot appears twice');

/** Replaces the loadout with `slots` (every ability must be known); returns it, by slot. */
export async function writeLoadout(conn: PooledConnection, characterId: number, slots: LoadoutSlot[]): Promise<LoadoutSlot[]> {
  const known = await conn.rows<{ ability_id: number }>('SELECT ability_id FROM character_abilities WHERE character_id = ? FOR UPDATE', [
    characterId,
  ]);
  const have = new Set(known.map((k) => Number(k.ability_id)));
  const unknown = slots.find((s) => !have.has(s.abilityId));
  if (unknown) throw new RequirementError('learned', `ability ${unknown.abilityId} is not learned (slot ${unknown.slot})`);
  await conn.exec('DELETE FROM character_ability_slots WHERE character_id = ?', [characterId]);
  for (const s of slots) {
    await conn.exec('INSERT INTO character_ability_slots (character_id, slot_number, ability_id, is_loaded) VALUES (?, ?, ?, ?)', [
      characterId,
      s.slot,
      s.abilityId,
      s.loaded,
    ]);
  }
  return readLoadout(conn, characterId);
}

/** The loadout, by slot. */
export async function readLoadout(conn: PooledConnection, characterId: number): Promise<LoadoutSlot[]> {
  const rows = await conn.rows<{ slot_number: number; ability_id: number; is_loaded: number }>(
    'SELECT slot_number, ability_id, is_loaded FROM character_ability_slots WHERE character_id = ? ORDER BY slot_number',
    [characterId],
  );
  return rows.map((r) => ({ slot: Number(r.slot_number), abilityId: Number(r.ability_id), loaded: Boolean(r.is_loaded) }));
}

/** Raises a known ability by `levels`, never past its template's max_ability_level; returns the new level. */
export async function upgradeAbility(conn: PooledConnection, characterId: number, abilityId: number, levels: number): Promise<number> {
  const [row] = await conn.rows<{ ability_level: number; max_ability_level: number | null }>(
    `SELECT ca.ability_level, t.max_ability_level FROM character_abilities ca
       LEFT JOIN ability_templates t ON t.ability_id = ca.ability_id
      WHERE ca.character_id = ? AND ca.ability_id = ? FOR UPDATE`,
    [characterId, abilityId],
  );
  if (!row) throw new NotFoundError('learned ability', abilityId);
  const level = Number(row.ability_level ?? 1) + levels;
  const max = Number(row.max_ability_level ?? 127);
  if (level > max) throw new RequirementError('max_level', `ability ${abilityId} is at most level ${max}, ${level} asked`);
  await conn.exec('UPDATE character_abilities SET ability_level = ? WHERE character_id = ? AND ability_id = ?', [
    level,
    characterId,
    abilityId,
  ]);
  return level;
}

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [Same<z.output<typeof loadoutSchema>, LoadoutSlot[]>] = [true];
void agrees;
