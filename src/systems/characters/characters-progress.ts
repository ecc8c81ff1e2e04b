import { z } from 'zod';
import { DEFAULT_LEVEL_CURVE, type Progression } from '../shared/level-curve.js';
import { attributesSchema, experienceSchema, vitalsSchema, type AttributesInput, type VitalsInput } from './progression-input.js';
import { writeAttributes, type Attributes } from './attribute-writes.js';
import { grantExperience } from '../shared/experience.js';
import { VITALS } from './vitals-writes.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import { id } from '../shared/fields.js';
import { acceptBuffered, fencedWriteOptions } from '../shared/fenced-write.js';

/**
 * `db.characters`, part one: experience and levels, attributes and vitals (docs/design.md,
 * "Routing"). The calls are split over three files by concept; {@link Characters} is the whole.
 */
export class CharacterProgress {
  constructor(protected readonly ctx: RepoContext) {}

  /**
   * Adds experience, levelling up by the configured curve (several levels at once, never past
   * the cap). The same level-up path as missions.complete.
   *
   * @example
   * const { level, experience, levelsGained } = await db.characters.gainExperience(characterId, 500);
   */
  async gainExperience(characterId: number, xp: number, options: WriteOptions = {}): Promise<Progression> {
    const cid = parseInput(id, characterId, 'character id');
    const gained = parseInput(experienceSchema, xp, 'experience');
    const curve = this.ctx.levelCurve ?? DEFAULT_LEVEL_CURVE;
    return this.ctx.router.onCharacter(
      'gain_experience',
      cid,
      async (conn, route) => {
        return grantExperience(conn, cid, route.shard, gained, curve);
      },
      fencing(options),
    );
  }

  /**
   * Records current health and inner strength through the write-behind buffer (the latest value
   * per character wins), clamped to the character's maxima when written. With `fencingToken` a
   * stale claim throws PresenceLostError now, and the vitals land only if the claim still holds
   * when they are flushed (src/systems/shared/fenced-write.ts).
   *
   * @example
   * await db.characters.updateVitals(characterId, { health: 150, innerStrength: 90 }, { fencingToken });
   */
  async updateVitals(characterId: number, vitals: VitalsInput, options: WriteOptions = {}): Promise<void> {
    const cid = parseInput(id, characterId, 'character id');
    const data = parseInput(vitalsSchema, vitals, 'vitals');
    const { fencingToken } = parseInput(fencedWriteOptions, options, 'options');
    const shard = await acceptBuffered(this.ctx.router, 'vitals_fence', cid, fencingToken);
    await this.ctx.writeBehind(shard).coalesce(VITALS, String(cid), { ...data, fencingToken });
  }

  /**
   * Sets attributes (0..127); max health and max inner strength follow from vitality and focus,
   * and current vitals are clamped to them.
   *
   * @example
   * await db.characters.setAttributes(characterId, { vitality: 30, focus: 25 });
   */
  async setAttributes(characterId: number, attributes: AttributesInput, options: WriteOptions = {}): Promise<Attributes> {
    const cid = parseInput(id, characterId, 'character id');
    const data = parseInput(attributesSchema, attributes, 'attributes');
    // Vitals still buffered are clamped at flush time to the maxima of that moment.
    return this.ctx.router.onCharacter('set_attributes', cid, (conn) => writeAttributes(conn, cid, data), fencing(options));
  }
}
