import { z } from 'zod';
import { NameTakenError, NotFoundError, RequirementError, ValidationError } from '../../errors.js';
import { FACTIONS, type Faction } from '../shared/reputation.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import { BATCH_MAX_BYTES, batchesByBytes, valueBytes } from '../../writebehind/byte-budget.js';
import { DEFINE_MANY_MAX, DEFINE_MANY_ROWS, duplicateEntry, parseBatch, repeatedKey } from '../shared/batch-input.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { ABILITY_USES, abilityUseKey } from './ability-uses.js';
import { textColumn, varcharColumn, id } from '../shared/fields.js';
import { jsonValue } from '../shared/mission-rows.js';
import { parseInput } from '../../validate.js';
import {
  abilityIdSchema,
  loadoutSchema,
  readLoadout,
  upgradeAbility,
  writeLoadout,
  type CharacterAbility,
  type LoadoutSlot,
} from '../shared/ability-loadout.js';
import type { RepoContext } from '../shared/context.js';
import { acceptBuffered, fencedWriteOptions } from '../shared/fenced-write.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

/** characters.archetype's values (a repository does not import another). */
const ARCHETYPES = ['hacker', 'martial_artist', 'spy'] as const;
const tinyint = z.number().int().min(1).max(127);
/** The highest level an ability can have (ability_templates.max_ability_level is a TINYINT): the default maximum. */
export const MAX_ABILITY_LEVEL = 127;
const abilityInput = z
  .object({
    abilityId: abilityIdSchema,
    abilityName: varcharColumn(64, 1),
    abilityDescription: textColumn().nullable().default(null),
    levelRequirement: tinyint.default(1),
    archetypeRequirement: z.enum(ARCHETYPES).nullable().default(null),
    factionRequirement: z.enum(FACTIONS).nullable().default(null),
    prerequisiteAbilities: z.array(abilityIdSchema).max(50).default([]),
    // Default: the column's limit (TINYINT), so upgrade() works on a template that names no maximum.
    maxAbilityLevel: tinyint.default(MAX_ABILITY_LEVEL),
  })
  .strict();

/** ability_templates' columns, in the order {@link abilityValues} gives them. */
const ABILITY_COLUMNS =
  'ability_id, ability_name, ability_description, level_requirement, archetype_requirement, faction_requirement, prerequisite_abilities, max_ability_level';

function abilityValues(d: z.output<typeof abilityInput>): unknown[] {
  return [
    d.abilityId,
    d.abilityName,
    d.abilityDescription,
    d.levelRequirement,
    d.archetypeRequirement,
    d.factionRequirement,
    JSON.stringify(d.prerequisiteAbilities),
    d.maxAbilityLevel,
  ];
}

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
  /** 1-127, default 127 ({@link MAX_ABILITY_LEVEL}): `upgrade` never raises an ability past it. */
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
   * `maxAbilityLevel` defaults to {@link MAX_ABILITY_LEVEL} (127): `upgrade` works unless a lower one is named.
   *
   * @example
   * await db.abilities.defineAbility({ abilityId: 1001, abilityName: 'Hyper Jump', levelRequirement: 5 });
   */
  async defineAbility(input: AbilityDefinitionInput): Promise<{ abilityId: number }> {
    const d = parseInput(abilityInput, input, 'ability definition');
    try {
      await this.ctx.router.onEveryNode('ability_define', async (tx, keys) => {
        for (const key of [GLOBAL, ...keys.filter((k) => k !== GLOBAL)]) {
          await (
            await tx.branch(key)
          ).exec(`INSERT INTO ability_templates (${ABILITY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, abilityValues(d));
        }
      });
    } catch (error) {
      if (isDuplicateKey(error)) throw new NameTakenError('abilityId', String(d.abilityId), { cause: error });
      throw error;
    }
    return { abilityId: d.abilityId };
  }

  /**
   * Defines many abilities at once (a bulk import of the client's abilities): every element is
   * validated before any SQL (a ValidationError names each bad one, `abilities[3].abilityName`;
   * an id given twice is one too), then all are written on global and every shard in ONE
   * two-phase commit: all or nothing. At most {@link DEFINE_MANY_MAX} per call. An id already
   * defined is a NameTakenError naming its element (`abilities[2].abilityId`) and nothing is
   * written. Returns the ids in input order (the unsigned form, as `defineAbility` does).
   *
   * @example
   * const { abilityIds } = await db.abilities.defineMany([
   *   { abilityId: 0x80002c00, abilityName: 'Hyper Jump' },
   *   { abilityId: 0x8002e000, abilityName: 'Hyper Speed', maxAbilityLevel: 50 },
   * ]);
   */
  async defineMany(inputs: AbilityDefinitionInput[]): Promise<{ abilityIds: number[] }> {
    const defs = parseBatch(abilityInput, inputs, 'ability definitions', 'abilities');
    const repeated = repeatedKey(defs, (d) => d.abilityId, 'abilities', 'abilityId');
    if (repeated) throw new ValidationError('ability definitions', [repeated]);
    const abilityIds = defs.map((d) => d.abilityId);
    if (defs.length === 0) return { abilityIds };
    // Multi-row statements under the packet limit (descriptions are TEXT, up to 64 KiB each).
    const batches = batchesByBytes(defs.map(abilityValues), DEFINE_MANY_ROWS, BATCH_MAX_BYTES, valueBytes);
    try {
      await this.ctx.router.onEveryNode('ability_define_many', async (tx, keys) => {
        const global = await tx.branch(GLOBAL);
        // Which element is already defined, by name (the insert's duplicate key would not say).
        const [taken] = (await global.text(
          `SELECT ability_id FROM ability_templates WHERE ability_id IN (${abilityIds.map(() => '?').join(', ')}) LOCK IN SHARE MODE`,
          abilityIds,
        )) as [Array<{ ability_id: number }>];
        if (taken.length > 0) {
          const i = abilityIds.findIndex((a) => taken.some((t) => Number(t.ability_id) === a));
          throw new NameTakenError(`abilities[${i}].abilityId`, String(abilityIds[i]));
        }
        for (const key of [GLOBAL, ...keys.filter((k) => k !== GLOBAL)]) {
          const conn = await tx.branch(key);
          for (const rows of batches)
            await conn.batch(
              `INSERT INTO ability_templates (${ABILITY_COLUMNS}) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
              rows.flat(),
            );
        }
      });
    } catch (error) {
      // Defined by another call between the check and the insert: nothing was written either.
      if (isDuplicateKey(error)) throw new NameTakenError('abilities', duplicateEntry(error), { cause: error });
      throw error;
    }
    return { abilityIds };
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
    return this.ctx.router.onCharacter(
      'ability_learn',
      cid,
      async (conn, route) => {
        const [ability] = await conn.rows('SELECT * FROM ability_templates WHERE ability_id = ?', [aid]);
        if (!ability) throw new NotFoundError('ability', aid);
        await checkLearnable(conn, cid, ability);
        await conn.exec('INSERT INTO character_abilities (character_id, ability_id, ability_level) VALUES (?, ?, 1)', [cid, aid]);
        return (await readAbilities(conn, cid, aid))[0]!;
      },
      fencing(options),
    );
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
    return this.ctx.router.onCharacter('ability_set_loadout', cid, (conn) => writeLoadout(conn, cid, data), fencing(options));
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
    return this.ctx.router.onCharacter(
      'ability_upgrade',
      cid,
      async (conn, route) => {
        await upgradeAbility(conn, cid, aid, n);
        return (await readAbilities(conn, cid, aid))[0]!;
      },
      fencing(options),
    );
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
