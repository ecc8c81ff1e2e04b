import { z } from 'zod';
import { fencingTokenValue, id } from '../shared/fields.js';
import { NotFoundError } from '../../errors.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput, schemaFor } from '../../validate.js';
import { lockLiveCharacter, ALIGNMENT_OF_FACTION } from '../shared/character-identity.js';
import * as limits from '../shared/client-limits.js';
import { levelFor } from '../shared/level-curve.js';
import { REPUTATION_ORGANIZATIONS, type ReputationOrganization } from '../shared/reputations.js';
import { buildSpawn, SPAWN_GLOBAL, SPAWN_SHARD, type CharacterSpawn } from './character-spawn.js';
import { CharacterIdentity } from './characters-identity.js';

export type { CharacterSpawn, SpawnItem, SpawnOrganization } from './character-spawn.js';

/** What a district server holds in memory and saves, as absolute values (every field optional). */
export interface CharacterSave {
  experience?: number;
  /** Information (money); the difference to the stored balance is written to the ledger. */
  money?: number;
  health?: number;
  maxHealth?: number;
  innerStrength?: number;
  maxInnerStrength?: number;
  /** The doubles the server sends, stored exactly. */
  position?: { x: number; y: number; z: number };
  /** A yaw byte or radians: stored and returned as given. */
  yaw?: number;
  /** Absolute points of some of the seven reputations (16-bit signed, as the client shows them). */
  reputations?: Partial<Record<ReputationOrganization, number>>;
  level?: number;
  pvpFlag?: boolean;
}

/** Options of {@link CharacterWorld.save}. */
export interface SaveOptions {
  /** The presence claim's token: the save is refused (PresenceLostError) unless it still holds the character. */
  fencingToken: number;
}

const saveInput = schemaFor<CharacterSave>()(
  z
    .object({
      experience: limits.experience.optional(),
      money: limits.money.optional(),
      health: limits.u16.optional(),
      maxHealth: limits.u16.optional(),
      innerStrength: limits.u16.optional(),
      maxInnerStrength: limits.u16.optional(),
      position: limits.clientPosition.optional(),
      yaw: limits.yaw.optional(),
      reputations: z
        .object(
          Object.fromEntries(REPUTATION_ORGANIZATIONS.map((o) => [o, limits.i16.optional()])) as Record<
            ReputationOrganization,
            z.ZodOptional<typeof limits.i16>
          >,
        )
        .strict()
        .optional(),
      level: limits.level.optional(),
      pvpFlag: z.boolean().optional(),
    })
    .strict(),
);
const saveOptions = schemaFor<SaveOptions>()(z.object({ fencingToken: fencingTokenValue }).strict());
const factionInput = z.enum(['zion', 'machine', 'merovingian', 'neutral']);

/** Plain columns a save sets, by input field. */
const COLUMNS: Array<[keyof CharacterSave, string]> = [
  ['experience', 'experience'],
  ['health', 'health'],
  ['maxHealth', 'max_health'],
  ['innerStrength', 'inner_strength'],
  ['maxInnerStrength', 'max_inner_strength'],
  ['yaw', 'yaw'],
  ['level', 'level'],
];

/**
 * `db.characters`, part three: the character as a district server enters and saves it (contract
 * part four): spawn in one call, absolute saves, taking a side.
 */
export class CharacterWorld extends CharacterIdentity {
  /**
   * Everything the spawn packets carry, in one call: one statement on the character's shard and
   * one on global, at once (plus a directory read when the route is not cached). Concurrent spawns
   * share those statements (`reads.coalesce`, as gets do). Soft-deleted characters are NotFoundError.
   * @example const spawn = await db.characters.spawn(characterId); // { position, yaw, health, inventory: [{ slot, clientItemId }], crew, ... }
   */
  async spawn(characterId: number, options: { consistency?: Consistency } = {}): Promise<CharacterSpawn> {
    const cid = parseInput(id, characterId, 'character id');
    const level = consistencyOf(options, 'session');
    const [own, global] = await Promise.all([
      this.ctx.router.readCharacterKeyed(SPAWN_SHARD, cid, level),
      this.ctx.router.readGlobalKeyed(SPAWN_GLOBAL, cid, level),
    ]);
    if (own.row.character.deleted_at) throw new NotFoundError('character', cid); // soft-deleted
    return buildSpawn(own.row, global ?? [], own.route.shard);
  }

  /**
   * Saves what the district server holds, as absolute values, in one transaction on the
   * character's shard, fenced: refused (PresenceLostError, nothing written) unless `fencingToken`
   * is still the character's presence claim. A money change writes a ledger row of type
   * 'server_save' with the difference in the same transaction, so `verify` still balances.
   * Experience is stored as given; with no `level` and a level curve configured on the cluster,
   * the level follows the curve. Returns the stored values.
   *
   * Positions and vitals buffered earlier through world.updatePosition / updateVitals are written
   * when the buffer flushes and then win: a server that saves absolutely should not buffer too.
   * @example await db.characters.save(id, { experience: 5200, money: 740, health: 480, position: { x, y, z }, yaw: 139 }, { fencingToken });
   */
  async save(
    characterId: number,
    values: CharacterSave,
    options: SaveOptions,
  ): Promise<{ level: number; experience: number; money: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const data = parseInput(saveInput, values, 'save');
    const { fencingToken } = parseInput(saveOptions, options, 'options');
    const curve = this.ctx.levelCurve;
    // The router locks the row and refuses a token that is no longer the claim's (PresenceLostError).
    return this.ctx.router.onCharacter(
      'character_save',
      cid,
      async (conn, _route, _tx, row) => {
        const [fence] = await conn.rows<{ level: number; experience: number }>(
          'SELECT level, experience FROM characters WHERE character_id = ?',
          [cid],
        );
        const sets: string[] = [];
        const params: unknown[] = [];
        const level = data.level ?? (curve && data.experience !== undefined ? levelFor(curve, data.experience) : undefined);
        for (const [field, column] of COLUMNS) {
          const value = field === 'level' ? level : data[field];
          if (value === undefined) continue;
          sets.push(`${column} = ?`);
          params.push(value);
        }
        if (data.position) {
          sets.push('position_x = ?', 'position_y = ?', 'position_z = ?');
          params.push(data.position.x, data.position.y, data.position.z);
        }
        if (data.pvpFlag !== undefined) {
          sets.push('pvp_flag = ?');
          params.push(data.pvpFlag);
        }
        const before = Number(row.money);
        if (data.money !== undefined && data.money !== before) {
          sets.push('money = ?');
          params.push(data.money);
          const delta = data.money - before;
          // The difference, in the ledger with the balance (verify: balances equal their ledger).
          await conn.exec(
            `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount, transaction_reason, district_id)
             VALUES (?, ?, 'server_save', ?, 'server_save', ?)`,
            [delta < 0 ? cid : null, delta > 0 ? cid : null, Math.abs(delta), row.district_id],
          );
        }
        if (sets.length > 0) await conn.exec(`UPDATE characters SET ${sets.join(', ')} WHERE character_id = ?`, [...params, cid]);
        const reputations = Object.entries(data.reputations ?? {}).filter(([, v]) => v !== undefined);
        if (reputations.length > 0)
          await conn.exec(
            `INSERT INTO character_reputations (character_id, organization, points) VALUES ${reputations.map(() => '(?, ?, ?)').join(', ')}
           ON DUPLICATE KEY UPDATE points = VALUES(points)`,
            reputations.flatMap(([o, v]) => [cid, o, v]),
          );
        return {
          level: level ?? Number(fence!.level),
          experience: data.experience ?? Number(fence!.experience),
          money: data.money ?? before,
        };
      },
      { fencingToken },
    );
  }

  /**
   * Takes a side: the seed's characters.faction and the client's alignment code (1 Zion,
   * 2 Machines, 3 Merovingian, 0 for 'neutral') together, so the two never disagree.
   * @example await db.characters.setFaction(characterId, 'zion');
   */
  async setFaction(
    characterId: number,
    faction: 'zion' | 'machine' | 'merovingian' | 'neutral',
  ): Promise<{ faction: string; alignment: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const side = parseInput(factionInput, faction, 'faction');
    const alignment = ALIGNMENT_OF_FACTION[side];
    return this.ctx.router.onCharacter('character_set_faction', cid, async (conn, route) => {
      await lockLiveCharacter(conn, cid, route.shard);
      await conn.exec('UPDATE characters SET faction = ?, alignment = ? WHERE character_id = ?', [side, alignment, cid]);
      return { faction: side, alignment };
    });
  }
}
