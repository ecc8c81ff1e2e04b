import { z } from 'zod';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import * as identity from '../shared/character-identity.js';
import { parseInput } from '../../validate.js';
import { CharacterProgress } from './characters-progress.js';
import { id } from '../shared/fields.js';

/**
 * `db.characters`, part two: the character as the client shows it (name reservation, lookup by
 * name, soft delete, appearance, profile).
 */
export class CharacterIdentity extends CharacterProgress {
  /**
   * Step one of creation: holds a name for the account (default 10 minutes, by the database's
   * clock) with the id the character will have (mxo-hd's name reply carries it): pass it to
   * `create({ ..., characterId })`. create() by another account is refused meanwhile.
   * NameTakenError when taken or held; InvalidStateError `reservation_limit` past 3 live
   * reservations per account. Renewing keeps the id. The id comes from the global directory, so
   * it is unique cluster-wide; one never used (the reservation lapsed) is skipped, never reissued.
   * @example const { characterId, expiresAt } = await db.characters.reserveName(accountId, 'Neo');
   */
  async reserveName(
    accountId: number,
    name: string,
    options: { ttlSec?: number } = {},
  ): Promise<{ name: string; characterId: number; expiresAt: Date }> {
    const account = parseInput(id, accountId, 'account id');
    const wanted = parseInput(identity.characterName, name, 'name');
    const ttl = parseInput(z.number().int().min(1).max(86_400).default(600), options.ttlSec, 'ttlSec');
    return identity.reserveName(this.ctx.router, account, wanted, ttl);
  }

  /**
   * Where a live character with this name is (one read on global); null when none.
   * @example const found = await db.characters.findByName('Neo'); // { characterId, accountId, shard, districtId, worldId }
   */
  async findByName(name: string): Promise<identity.NamedCharacter | null> {
    return identity.findByName(this.ctx.router, parseInput(z.string().min(1).max(32), name, 'name'));
  }

  /**
   * Soft delete: rows kept, the name freed, memberships released; reads and listByAccount no
   * longer return it. Refused (PresenceHeldError) while the character is in the world.
   * @example await db.characters.delete(characterId);
   */
  async delete(characterId: number): Promise<void> {
    await identity.softDelete(this.ctx.router, parseInput(id, characterId, 'character id'));
  }

  /**
   * Changes some appearance (RSI) fields; returns the whole typed appearance.
   * @example await db.characters.setAppearance(characterId, { hatModel: 12, hatColor: 3 });
   */
  async setAppearance(characterId: number, appearance: identity.Appearance): Promise<identity.Appearance> {
    const cid = parseInput(id, characterId, 'character id');
    return identity.mergeAppearance(this.ctx.router, cid, parseInput(identity.appearanceSchema, appearance, 'appearance'));
  }

  /**
   * Changes some profile fields (names, background, profession, alignment, CQ points, status); returns the whole profile.
   * @example await db.characters.setProfile(characterId, { firstName: 'Thomas', lastName: 'Anderson', alignment: 1 });
   */
  async setProfile(characterId: number, profile: identity.CharacterProfile): Promise<Required<identity.CharacterProfile>> {
    const cid = parseInput(id, characterId, 'character id');
    return identity.writeProfile(this.ctx.router, cid, parseInput(identity.profileSchema, profile, 'profile'));
  }

  /**
   * The profile and typed appearance the client shows at character select.
   * @example const { profile, appearance } = await db.characters.identity(characterId);
   */
  async identity(
    characterId: number,
    options: { consistency?: Consistency } = {},
  ): Promise<{ profile: Required<identity.CharacterProfile>; appearance: identity.Appearance }> {
    const cid = parseInput(id, characterId, 'character id');
    return this.ctx.router.readCharacter('character_identity', cid, consistencyOf(options, 'session'), async (conn) => {
      const profile = await identity.readProfileRow(conn, cid);
      const [row] = await conn.rows<{ appearance_data: string }>('SELECT appearance_data FROM characters WHERE character_id = ?', [cid]);
      return profile && row && { profile, appearance: identity.pickAppearance(row.appearance_data) };
    });
  }
}
