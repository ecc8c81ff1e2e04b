import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput, type Same } from '../../validate.js';
import { textColumn, id } from '../shared/fields.js';
import { consistencyOf } from '../../routing/consistency.js';
import { GLOBAL } from '../../routing/topology.js';
import { readBuddyEdges, syncBuddyEdge, type BuddyEntry } from './buddies.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import type { CrewCreateInput } from '../shared/crew-rules.js';

const handleInput = z.string().min(1).max(32);
const relationshipInput = z
  .object({
    characterId: id,
    targetCharacterId: id,
    type: z.enum(['friend', 'ignore', 'enemy', 'neutral']),
    notes: textColumn().optional(),
  })
  .strict()
  .refine((r) => r.characterId !== r.targetCharacterId, { path: ['targetCharacterId'], message: 'must differ from characterId' });

export interface RelationshipInput {
  characterId: number;
  targetCharacterId: number;
  type: 'friend' | 'ignore' | 'enemy' | 'neutral';
  notes?: string;
}
// The interface and the schema agree both ways (compile-time only).
const agrees: Same<z.input<typeof relationshipInput>, RelationshipInput> = true;
void agrees;

export interface Relationship {
  characterId: number;
  targetCharacterId: number;
  type: string;
  notes: string | null;
  /** True when the target has the same kind of relationship back. */
  isMutual: boolean;
}

export type { BuddyEntry };

/** @deprecated The crew input of db.crews.create ({@link CrewCreateInput}), under its old name. */
export type CrewInput = CrewCreateInput;

/** The crew calls db.social forwards to (db.crews). */
interface CrewsApi {
  create(input: CrewCreateInput): Promise<{ crewId: number }>;
  join(crewId: number, characterId: number): Promise<void>;
  leave(crewId: number, characterId: number): Promise<{ captainId: number | null; disbanded: boolean }>;
  kick(crewId: number, captainId: number, characterId: number): Promise<void>;
  disband(crewId: number, captainId: number): Promise<{ members: number }>;
}

/**
 * Friends, ignores and crews. A relationship row lives with its owner (it moves with the
 * character) while its target may live on any shard; both characters' rows are written in one
 * transaction (2PC across shards) so `is_mutual` is true on both sides or neither. Crews and
 * memberships are global; member_count is recounted in every transaction that changes them.
 */
export class Social {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Creates or updates a relationship; the target must exist somewhere in the cluster. Marks
   * both rows mutual when the target has the same relationship back.
   * @example await db.social.setRelationship({ characterId, targetCharacterId, type: 'friend' });
   */
  async setRelationship(input: RelationshipInput, options: WriteOptions = {}): Promise<Relationship> {
    const data = parseInput(relationshipInput, input, 'relationship');
    const mutual = await this.onPair(
      'set_relationship',
      data.characterId,
      data.targetCharacterId,
      async (own, other, global) => {
        await own.exec(
          `INSERT INTO character_relationships (character_id, target_character_id, relationship_type, notes)
           VALUES (?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE relationship_type = VALUES(relationship_type), notes = VALUES(notes)`,
          [data.characterId, data.targetCharacterId, data.type, data.notes ?? null],
        );
        const [back] = await other.rows<{ relationship_type: string }>(
          'SELECT relationship_type FROM character_relationships WHERE character_id = ? AND target_character_id = ? FOR UPDATE',
          [data.targetCharacterId, data.characterId],
        );
        const isMutual = back?.relationship_type === data.type;
        await setMutual(own, data.characterId, data.targetCharacterId, isMutual);
        await setMutual(other, data.targetCharacterId, data.characterId, isMutual);
        await syncBuddyEdge(global, data.characterId, data.targetCharacterId, data.type === 'friend');
        return isMutual;
      },
      options,
    );
    return {
      characterId: data.characterId,
      targetCharacterId: data.targetCharacterId,
      type: data.type,
      notes: data.notes ?? null,
      isMutual: mutual,
    };
  }

  /**
   * Removes a relationship; the target's row back (if any) is no longer mutual.
   * @example await db.social.removeRelationship(characterId, targetId);
   */
  async removeRelationship(characterId: number, targetCharacterId: number, options: WriteOptions = {}): Promise<{ removed: boolean }> {
    const cid = parseInput(id, characterId, 'character id');
    const target = parseInput(id, targetCharacterId, 'target character id');
    const targetExists = await this.ctx.router.directory.resolve(target).then(
      () => true,
      (error: unknown) => {
        if (error instanceof NotFoundError) return false;
        throw error;
      },
    );
    if (!targetExists) {
      // The target was deleted or archived: only the owner's row is left to remove.
      return this.ctx.router.onCharacter(
        'remove_relationship',
        cid,
        async (conn, route, tx) => {
          const header = await conn.exec('DELETE FROM character_relationships WHERE character_id = ? AND target_character_id = ?', [
            cid,
            target,
          ]);
          await syncBuddyEdge(await tx.branch(GLOBAL), cid, target, false);
          return { removed: header.affectedRows > 0 };
        },
        { ...fencing(options), withGlobal: true },
      );
    }
    return this.onPair(
      'remove_relationship',
      cid,
      target,
      async (own, other, global) => {
        const header = await own.exec('DELETE FROM character_relationships WHERE character_id = ? AND target_character_id = ?', [
          cid,
          target,
        ]);
        await setMutual(other, target, cid, false);
        await syncBuddyEdge(global, cid, target, false);
        return { removed: header.affectedRows > 0 };
      },
      options,
    );
  }

  /** A character's relationships (replica-eligible). @example const list = await db.social.listRelationships(characterId); */
  async listRelationships(characterId: number, options: { consistency?: Consistency } = {}): Promise<Relationship[]> {
    const cid = parseInput(id, characterId, 'character id');
    const consistency = consistencyOf(options, 'session');
    const rows = await this.ctx.router.readCharacter('list_relationships', cid, consistency, async (conn) => {
      const joined = await conn.rows<{
        target_character_id: number | null;
        relationship_type: string;
        notes: string | null;
        is_mutual: number;
      }>(
        `SELECT r.target_character_id, r.relationship_type, r.notes, r.is_mutual
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
      isMutual: Boolean(r.is_mutual),
    }));
  }

  /**
   * Puts a character (by handle) on a buddy list: a 'friend' row on the owner's shard and the
   * global buddy index in one transaction (2PC), mutual flags on both sides. NotFoundError for an
   * unknown handle.
   * @example const buddy = await db.social.addBuddy(characterId, 'Trinity'); // { characterId, handle, online, isMutual, ... }
   */
  async addBuddy(characterId: number, handle: string, options: WriteOptions = {}): Promise<BuddyEntry> {
    const cid = parseInput(id, characterId, 'character id');
    const name = parseInput(handleInput, handle, 'handle');
    const target = await this.idOfHandle(name);
    if (target === cid) throw new ValidationError('buddy', [{ field: 'handle', message: 'cannot add yourself' }]);
    await this.onPair(
      'add_buddy',
      cid,
      target,
      async (own, other, global) => {
        // The handle still names that character (a rename or delete between the lookup and now).
        const [still] = await global.rows(
          'SELECT 1 FROM character_directory WHERE character_id = ? AND character_name = ? LOCK IN SHARE MODE',
          [target, name],
        );
        if (!still) throw new NotFoundError('character', name);
        await own.exec(
          `INSERT INTO character_relationships (character_id, target_character_id, relationship_type) VALUES (?, ?, 'friend')
           ON DUPLICATE KEY UPDATE relationship_type = 'friend'`,
          [cid, target],
        );
        const [back] = await other.rows<{ relationship_type: string }>(
          'SELECT relationship_type FROM character_relationships WHERE character_id = ? AND target_character_id = ? FOR UPDATE',
          [target, cid],
        );
        const isMutual = back?.relationship_type === 'friend';
        await setMutual(own, cid, target, isMutual);
        await setMutual(other, target, cid, isMutual);
        await syncBuddyEdge(global, cid, target, true);
      },
      options,
    );
    const entry = (await this.buddies(cid)).find((b) => b.characterId === target);
    return entry ?? { characterId: target, handle: name, online: false, serverId: null, districtId: null, isMutual: false };
  }

  /**
   * Takes a character (by handle) off a buddy list (only a 'friend' row; an ignore stays), with its index edge.
   * @example await db.social.removeBuddy(characterId, 'Trinity'); // { removed: true }
   */
  async removeBuddy(characterId: number, handle: string, options: WriteOptions = {}): Promise<{ removed: boolean }> {
    const cid = parseInput(id, characterId, 'character id');
    const target = await this.idOfHandle(parseInput(handleInput, handle, 'handle'));
    return this.onPair(
      'remove_buddy',
      cid,
      target,
      async (own, other, global) => {
        const header = await own.exec(
          "DELETE FROM character_relationships WHERE character_id = ? AND target_character_id = ? AND relationship_type = 'friend'",
          [cid, target],
        );
        if (header.affectedRows === 0) return { removed: false };
        await setMutual(other, target, cid, false);
        await syncBuddyEdge(global, cid, target, false);
        return { removed: true };
      },
      options,
    );
  }

  /**
   * A character's buddy list with online status (live presence claims), in one read on global.
   * @example const online = (await db.social.buddies(characterId)).filter((b) => b.online);
   */
  async buddies(characterId: number, options: { consistency?: Consistency } = {}): Promise<BuddyEntry[]> {
    return this.edges(characterId, 'buddies', options);
  }

  /**
   * Who has this character on their buddy list ("who has me"), with online status: whom to tell
   * at login and logout. One indexed read on global, no shard scanned.
   * @example for (const f of await db.social.followers(characterId)) if (f.online) notify(f.serverId, f.characterId);
   */
  async followers(characterId: number, options: { consistency?: Consistency } = {}): Promise<BuddyEntry[]> {
    return this.edges(characterId, 'followers', options);
  }

  private async edges(
    characterId: number,
    direction: 'buddies' | 'followers',
    options: { consistency?: Consistency },
  ): Promise<BuddyEntry[]> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readGlobal(`buddy_${direction}`, consistencyOf(options, 'session'), async (conn) => {
      const [known] = await conn.rows('SELECT 1 FROM character_directory WHERE character_id = ?', [cid]);
      if (!known) throw new NotFoundError('character', cid);
      return readBuddyEdges(conn, cid, direction);
    });
  }

  /** The live character a handle names, from the directory on global. */
  private async idOfHandle(name: string): Promise<number> {
    const [row] = await this.ctx.router.readGlobal('buddy_handle', 'strong', (conn) =>
      conn.rows<{ character_id: number }>('SELECT character_id FROM character_directory WHERE character_name = ? AND deleted_at IS NULL', [
        name,
      ]),
    );
    if (!row) throw new NotFoundError('character', name);
    return Number(row.character_id);
  }

  /** @deprecated Use db.crews.create (one crew API; this delegates to it). */
  createCrew(input: CrewInput): Promise<{ crewId: number }> {
    return this.crews().create(input);
  }

  /** @deprecated Use db.crews.join (this delegates to it). */
  async joinCrew(crewId: number, characterId: number): Promise<void> {
    return this.crews().join(crewId, characterId);
  }

  /** @deprecated Use db.crews.leave (this delegates to it). */
  leaveCrew(crewId: number, characterId: number): Promise<{ captainId: number | null; disbanded: boolean }> {
    return this.crews().leave(crewId, characterId);
  }

  /** @deprecated Use db.crews.kick (this delegates to it). */
  async kickFromCrew(crewId: number, captainId: number, characterId: number): Promise<void> {
    return this.crews().kick(crewId, captainId, characterId);
  }

  /** @deprecated Use db.crews.disband (this delegates to it). */
  disbandCrew(crewId: number, captainId: number): Promise<{ members: number }> {
    return this.crews().disband(crewId, captainId);
  }

  /** @internal db.crews, wired by the session: the crew calls above are aliases of it. */
  crewsLink?: CrewsApi;

  private crews(): CrewsApi {
    if (!this.crewsLink) throw new Error('social crew calls: db.crews is not wired (a DataSession wires it)');
    return this.crewsLink;
  }

  /**
   * Two characters' shards and global (the buddy index) in one transaction, each character row
   * locked by the router (routing/lock-order.ts) before global.
   */
  private async onPair<T>(
    operation: string,
    a: number,
    b: number,
    work: (own: PooledConnection, other: PooledConnection, global: PooledConnection) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const { value } = await this.ctx.router.onCharacters(
      operation,
      [a, b],
      async (tx, [ra, rb]) => {
        // The router locked both rows (global lock order) before this runs.
        return work(await tx.branch(ra!.shard), await tx.branch(rb!.shard), await tx.branch(GLOBAL));
      },
      { ...fencing(options), actorId: a, also: [GLOBAL], decisionKey: GLOBAL },
    );
    return value;
  }
}

async function setMutual(conn: PooledConnection, characterId: number, targetId: number, mutual: boolean): Promise<void> {
  await conn.exec('UPDATE character_relationships SET is_mutual = ? WHERE character_id = ? AND target_character_id = ?', [
    mutual,
    characterId,
    targetId,
  ]);
}
