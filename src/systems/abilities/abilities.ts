import { z } from 'zod';
import { NameTakenError, NotFoundError, RequirementError } from '../../errors.js';
import { FACTIONS, type Faction } from '../shared/reputation.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { ABILITY_USES, abilityUseKey } from './ability-uses.js';
import { textColumn, varcharColumn, id } from '../shared/fields.js';
import { jsonValue } from '../shared/mission-rows.js';
import { parseInput } from '../../validate.js';
import { abilityIdSchema, loadoutSchema, readLoadout, upgradeAbility, writeLoadout, type CharacterAbility, type LoadoutSlot } from '../shared/ability-loadout.js';
import type { RepoContext } from '../shared/context.js';
import { acceptBuffered, fencedWriteOptions } from '../shared/fenced-write.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

/** characters.archetype's values (a repository does not import another). */
const ARCHETYPES = ['hacker', 'martial_artist', 'spy'] as const;
const tinyint = z.number().int().min(1).max(127);
const abilityInput = z
  .object({
    abilityId: abilityIdSchema,
    abilityName: varcharColumn(64, 1),
    abilityDescription: textColumn().nullable().default(null),
    levelRequirement: tinyint.default(1),
    archetypeRequirement: z.enum(ARCHETYPES).nullable().default(null),
    factionRequirement: z.enum(FACTIONS).nullable().default(null),
    prerequisiteAbilities: z.array(abilityIdSchema).max(50).default([]),
    maxAbilityLevel: tinyint.default(1),
  })
  .strict();

/** Input of `abilities.defineAbility`: the game's own ability id and what learning it requires. */
export interface AbilityDefinitionInput {
  /** The client's unsigned 32-bit ability id (high bit set); the signed form is accepted and stored unsigned. */
  abilityId: number;
  abilityName: string;
  abilityDescription?: string | null;
  levelRequirement?: number;
  archetypeRequirement?: (typeof ARCHETYPES)[number] | null;
  factionRequirement?: Faction | null;
  /** Abilities the character must know first. */
  prerequisiteAbilities?: number[];
  maxAbilityLevel?: number;
}

export type { CharacterAbility } from '../shared/ability-loadout.js';

/**
 * Abilities: definitions (reference data, ability_templates on global and every shard), learning
 * (requirements checked), and use counters through the shard's write-behind buffer.
 */
export class Abilities {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Defines an ability on global and every shard at once; returns `{ abilityId }` like every
   * `define*` call outside the contract's two (`items.defineTemplate`, `missions.defineTemplate`).
   *
   * @example
   * await db.abilities.defineAbility({ abilityId: 1001, abilityName: 'Hyper Jump', levelRequirement: 5 });
   */
  async defineAbility(input: AbilityDefinitionInput): Promise<{ abilityId: number }> {
    const d = parseInput(abilityInput, input, 'ability definition');
    const values = [
      d.abilityId,
      d.abilityName,
      d.abilityDescription,
      d.levelRequirement,
      d.archetypeRequirement,
      d.factionRequirement,
      JSON.stringify(d.prerequisiteAbilities),
      d.maxAbilityLevel,
    ];
    try {
      await this.ctx.router.onEveryNode('ability_define', async (tx, keys) => {
        for (const key of [GLOBAL, ...keys.filter((k) => k !== GLOBAL)]) {
          await (
            await tx.branch(key)
          ).exec(
            `INSERT INTO ability_templates (ability_id, ability_name, ability_description, level_requirement, archetype_requirement,
                                            faction_requirement, prerequisite_abilities, max_ability_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            values,
          );
        }
      });
    } catch (error) {
      if (isDuplicateKey(error)) throw new NameTakenError('abilityId', String(d.abilityId), { cause: error });
      throw error;
    }
    return { abilityId: d.abilityId };
  }

  /**
   * Learns an ability at level 1. A {@link RequirementError} names the first unmet requirement:
   * learned (already known), level, archetype, faction, prerequisite.
   *
   * @example
   * await db.abilities.learn(characterId, 1001);
   */
  async learn(characterId: number, abilityId: number, options: WriteOptions = {}): Promise<CharacterAbility> {
    const cid = parseInput(id, characterId, 'character id');
    const aid = parseInput(abilityIdSchema, abilityId, 'ability id');
    return this.ctx.router.onCharacter('ability_learn', cid, async (conn, route) => {
      const [ability] = await conn.rows('SELECT * FROM ability_templates WHERE ability_id = ?', [aid]);
      if (!ability) throw new NotFoundError('ability', aid);
      await checkLearnable(conn, cid, ability);
      await conn.exec('INSERT INTO character_abilities (character_id, ability_id, ability_level) VALUES (?, ?, 1)', [cid, aid]);
      return (await readAbilities(conn, cid, aid))[0]!;
    }, fencing(options));
  }

  /**
   * Records one use of a learned ability: times used, mastery and last used, through the
   * write-behind buffer (many uses per second coalesce into one row update per flush). Uses of
   * an ability the character has not learned change nothing. With `fencingToken` a stale claim
   * throws PresenceLostError now, and the uses count only if the claim still holds when they are
   * flushed (src/systems/shared/fenced-write.ts).
   *
   * @example
   * await db.abilities.use(characterId, 1001, { fencingToken });
   */
  async use(characterId: number, abilityId: number, options: WriteOptions = {}): Promise<void> {
    const cid = parseInput(id, characterId, 'character id');
    const aid = parseInput(abilityIdSchema, abilityId, 'ability id');
    const { fencingToken } = parseInput(fencedWriteOptions, options, 'options');
    const shard = await acceptBuffered(this.ctx.router, 'ability_use_fence', cid, fencingToken);
    await this.ctx.writeBehind(shard).coalesce(ABILITY_USES, abilityUseKey(cid, aid), {
      characterId: cid,
      abilityId: aid,
      uses: 1,
      lastUsedMs: Date.now(),
      fencingToken,
    });
  }

  /**
   * Replaces the ability loadout: each slot holds a learned ability, loaded or not; one ability may
   * sit in several slots. A slot named twice is a ValidationError; an unlearned ability a
   * RequirementError ('learned'); nothing is written then. Returns the loadout by slot.
   * @example
   * await db.abilities.setLoadout(characterId, [{ slot: 0, abilityId: 0x80000012, loaded: true }, { slot: 5, abilityId: 0x80000012, loaded: false }]);
   */
  async setLoadout(characterId: number, slots: LoadoutSlot[], options: WriteOptions = {}): Promise<LoadoutSlot[]> {
    const cid = parseInput(id, characterId, 'character id');
    const data = parseInput(loadoutSchema, slots, 'loadout');
    return this.ctx.router.onCharacter('ability_set_loadout', cid, async (conn, route) => {
      return writeLoadout(conn, cid, data);
    }, fencing(options));
  }

  /**
   * The ability loadout, by slot.
   * @example
   * const slots = await db.abilities.loadout(characterId);
   */
  async loadout(characterId: number, options: { consistency?: Consistency } = {}): Promise<LoadoutSlot[]> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readCharacter('ability_loadout', cid, consistencyOf(options, 'session'), async (conn) => {
      const [character] = await conn.rows('SELECT character_id FROM characters WHERE character_id = ?', [cid]);
      return character ? readLoadout(conn, cid) : undefined;
    });
  }

  /**
   * Raises a learned ability by `levels` (1-126), never past its template's maximum level
   * (RequirementError 'max_level'; NotFoundError when not learned).
   * @example
   * const { abilityLevel } = await db.abilities.upgrade(characterId, 0x80000012, 1);
   */
  async upgrade(characterId: number, abilityId: number, levels = 1, options: WriteOptions = {}): Promise<CharacterAbility> {
    const cid = parseInput(id, characterId, 'character id');
    const aid = parseInput(abilityIdSchema, abilityId, 'ability id');
    const n = parseInput(z.number().int().min(1).max(126), levels, 'levels');
    return this.ctx.router.onCharacter('ability_upgrade', cid, async (conn, route) => {
      await upgradeAbility(conn, cid, aid, n);
      return (await readAbilities(conn, cid, aid))[0]!;
    }, fencing(options));
  }

  /**
   * The character's learned abilities (written uses; buffered ones land at the next flush).
   *
   * @example
   * const abilities = await db.abilities.list(characterId);
   */
  async list(characterId: number, options: { consistency?: Consistency } = {}): Promise<CharacterAbility[]> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readCharacter('ability_list', cid, consistencyOf(options, 'session'), async (conn) => {
      const [character] = await conn.rows('SELECT character_id FROM characters WHERE character_id = ?', [cid]);
      return character ? readAbilities(conn, cid) : undefined;
    });
  }
}

async function checkLearnable(conn: PooledConnection, cid: number, ability: Record<string, unknown>): Promise<void> {
  const aid = Number(ability.ability_id);
  const known = await conn.rows<{ ability_id: number }>('SELECT ability_id FROM character_abilities WHERE character_id = ?', [cid]);
  if (known.some((k) => Number(k.ability_id) === aid)) throw new RequirementError('learned', `ability ${aid} is already learned`);
  const [c] = await conn.rows<{ level: number; archetype: string; faction: string }>(
    'SELECT level, archetype, faction FROM characters WHERE character_id = ?',
    [cid],
  );
  if (Number(c!.level) < Number(ability.level_requirement)) {
    throw new RequirementError('level', `level ${ability.level_requirement} needed, character is level ${c!.level}`);
  }
  if (ability.archetype_requirement && ability.archetype_requirement !== c!.archetype) {
    throw new RequirementError('archetype', `archetype ${ability.archetype_requirement} needed, character is ${c!.archetype}`);
  }
  if (ability.faction_requirement && ability.faction_requirement !== c!.faction) {
    throw new RequirementError('faction', `faction ${ability.faction_requirement} needed, character is ${c!.faction}`);
  }
  const missing = jsonValue<number[]>(ability.prerequisite_abilities, []).filter((p) => !known.some((k) => Number(k.ability_id) === p));
  if (missing.length > 0) throw new RequirementError('prerequisite', `abilities ${missing.join(', ')} must be learned first`);
}

async function readAbilities(conn: PooledConnection, cid: number, abilityId?: number): Promise<CharacterAbility[]> {
  const rows = await conn.rows(
    `SELECT ca.ability_id, t.ability_name, ca.ability_level, ca.mastery_points, ca.mastery_percentage, ca.times_used, ca.last_used
       FROM character_abilities ca LEFT JOIN ability_templates t ON t.ability_id = ca.ability_id
      WHERE ca.character_id = ? ${abilityId !== undefined ? 'AND ca.ability_id = ?' : ''} ORDER BY ca.ability_id`,
    abilityId !== undefined ? [cid, abilityId] : [cid],
  );
  return rows.map((r) => ({
    abilityId: Number(r.ability_id),
    abilityName: (r.ability_name as string | null) ?? null,
    abilityLevel: Number(r.ability_level ?? 1),
    masteryPoints: Number(r.mastery_points ?? 0),
    masteryPercentage: Number(r.mastery_percentage ?? 0),
    timesUsed: Number(r.times_used ?? 0),
    lastUsed: (r.last_used as Date | null) ?? null,
  }));
}
