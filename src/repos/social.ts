import { z } from 'zod';
import { NameTakenError, NotFoundError } from '../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW, isDuplicateKey } from '../pool/mysql-errors.js';
import type { Consistency } from '../routing/read-router.js';
import { parseInput } from '../validate.js';
import { lockCharacter } from '../sql/character-lock.js';
import { consistencyOf } from '../routing/consistency.js';
import type { RepoContext } from './context.js';

const id = z.number().int().positive();
const relationshipInput = z
  .object({
    characterId: id,
    targetCharacterId: id,
    type: z.enum(['friend', 'ignore', 'enemy', 'neutral']),
    notes: z.string().max(1000).optional(),
  })
  .strict()
  .refine((r) => r.characterId !== r.targetCharacterId, { path: ['targetCharacterId'], message: 'must differ from characterId' });
const crewInput = z
  .object({
    captainId: id,
    crewName: z.string().min(3).max(64),
    description: z.string().max(2000).optional(),
  })
  .strict();

export interface Relationship {
  characterId: number;
  targetCharacterId: number;
  type: string;
  notes: string | null;
}

/**
 * Friends, ignores and crews. A relationship row lives with its owner (it moves with the
 * character) while its target may live on any shard, so the target is checked against the
 * global directory here instead of by a foreign key. Crews and memberships are global and their
 * foreign keys point at the directory.
 */
export class Social {
  constructor(private readonly ctx: RepoContext) {}

  /** Creates or updates a relationship; the target must exist somewhere in the cluster. */
  async setRelationship(input: z.input<typeof relationshipInput>): Promise<Relationship> {
    const data = parseInput(relationshipInput, input, 'relationship');
    await this.ctx.router.directory.resolve(data.targetCharacterId, { fresh: true }); // NotFoundError if absent
    await this.ctx.router.onCharacter('set_relationship', data.characterId, async (conn, route) => {
      await lockCharacter(conn, data.characterId, route.shard);
      await conn.exec(
        `INSERT INTO character_relationships (character_id, target_character_id, relationship_type, notes)
           VALUES (?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE relationship_type = VALUES(relationship_type), notes = VALUES(notes)`,
        [data.characterId, data.targetCharacterId, data.type, data.notes ?? null],
      );
    });
    return { characterId: data.characterId, targetCharacterId: data.targetCharacterId, type: data.type, notes: data.notes ?? null };
  }

  /** A character's relationships (replica-eligible). */
  async listRelationships(characterId: number, options: { consistency?: Consistency } = {}): Promise<Relationship[]> {
    const cid = parseInput(id, characterId, 'character id');
    const consistency = consistencyOf(options, 'session');
    const rows = await this.ctx.router.readCharacter('list_relationships', cid, consistency, async (conn) => {
      const joined = await conn.rows<{ target_character_id: number | null; relationship_type: string; notes: string | null }>(
        `SELECT r.target_character_id, r.relationship_type, r.notes
             FROM characters c LEFT JOIN character_relationships r ON r.character_id = c.character_id
            WHERE c.character_id = ? ORDER BY r.target_character_id`,
        [cid],
      );
      return joined.length === 0 ? undefined : joined.filter((r) => r.target_character_id !== null);
    });
    return rows.map((r) => ({
      characterId: cid,
      targetCharacterId: Number(r.target_character_id),
      type: r.relationship_type,
      notes: r.notes,
    }));
  }

  /** Founds a crew with its captain as first member (global tier). */
  async createCrew(input: z.input<typeof crewInput>): Promise<{ crewId: number }> {
    const data = parseInput(crewInput, input, 'crew');
    try {
      const crewId = await this.ctx.router.onGlobal('crew_create', async (conn) => {
        const header = await conn.exec('INSERT INTO crews (crew_name, captain_id, description) VALUES (?, ?, ?)', [
          data.crewName,
          data.captainId,
          data.description ?? null,
        ]);
        const crewId = Number(header.insertId);
        await conn.exec("INSERT INTO crew_members (character_id, crew_id, position) VALUES (?, ?, 'captain')", [data.captainId, crewId]);
        return crewId;
      });
      return { crewId };
    } catch (error) {
      if (errnoOf(error) === ER_NO_REFERENCED_ROW) throw new NotFoundError('character', data.captainId, { cause: error });
      if (isDuplicateKey(error, 'crew_name')) throw new NameTakenError('crewName', data.crewName, { cause: error });
      throw error;
    }
  }

  /** Adds a character to a crew as a member. */
  async joinCrew(crewId: number, characterId: number): Promise<void> {
    const crew = parseInput(id, crewId, 'crew id');
    const cid = parseInput(id, characterId, 'character id');
    try {
      await this.ctx.router.onGlobal('crew_join', async (conn) => {
        await conn.exec('INSERT INTO crew_members (character_id, crew_id) VALUES (?, ?)', [cid, crew]);
        await conn.exec('UPDATE crews SET member_count = member_count + 1 WHERE crew_id = ?', [crew]);
      });
    } catch (error) {
      if (errnoOf(error) === ER_NO_REFERENCED_ROW) throw new NotFoundError('character or crew', `${cid}/${crew}`, { cause: error });
      throw error;
    }
  }
}
