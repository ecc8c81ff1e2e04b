import { CHARACTER_COLUMNS } from './character-columns.js';
import { z } from 'zod';
import { DistrictMovedError, InsufficientFundsError, NameTakenError, NotFoundError, ValidationError } from '../../errors.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import type { NodePool } from '../../pool/node-pool.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { GLOBAL } from '../../routing/topology.js';
import { pointTable } from '../../routing/point-read-batcher.js';
import { parseInput, positiveId } from '../../validate.js';
import { checkDistrictFence } from '../../routing/district-fence.js';
import { remember, replayOf } from '../../routing/idempotency.js';
import { deleteCharacterRows } from '../../schema/character-rows.js';
import { moveCharacter } from '../shared/character-move.js';
import { fencedWriteOptions } from '../shared/fenced-write.js';
import { LOAD_MEMBERSHIPS, LOAD_SHARD } from './character-load.js';
import { buildCharacterLoad, type CharacterLoad } from './character-load-shape.js';
import { CharacterWorld } from './characters-world.js';
import { readRoster, type RosterEntry } from './character-roster.js';
import { releaseMemberships } from '../shared/memberships.js';
import * as identity from '../shared/character-identity.js';
import { insertStartingAbilities, insertStartingItems, type StartingItem } from './character-kit.js';
import {
  createInput,
  districtIdSchema,
  id,
  idempotencyOptions,
  moneyInput,
  type Character,
  type CharacterCreateInput,
  type MoneyReason,
} from './character-inputs.js';
import type { SetOnlineOptions } from '../shared/write-options.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';

export { ARCHETYPES, DEFAULT_ARCHETYPE, GENDERS, MONEY_REASONS } from './character-inputs.js';
export type { Character, CharacterCreateInput, MoneyReason, RosterEntry };

interface CharacterRow {
  character_id: number;
  account_id: number;
  character_name: string;
  archetype: Character['archetype'];
  gender: Character['gender'];
  appearance_data: string | Record<string, unknown>;
  level: number;
  experience: number;
  faction: string;
  district_id: number;
  position_x: number;
  position_y: number;
  position_z: number;
  money: number | string;
  is_online: number;
}

/** Character rows by id, as `get` reads them (coalesced: see PointReadBatcher). */
const CHARACTER_ROWS = pointTable<CharacterRow & { deleted_at: Date | null }>({
  operation: 'character_get',
  select: `SELECT ${CHARACTER_COLUMNS}, deleted_at FROM characters`,
  keyColumn: 'character_id',
});

/** At most this many ids per getMany call (a crew window, a buddy list, a district's players). */
export const GET_MANY_MAX = 1_000;
const getManyInput = z.array(id).max(GET_MANY_MAX);

/** Characters: creation, reads at a chosen consistency, money, and moves between districts. */
export class Characters extends CharacterWorld {
  /**
   * Creates a character on the shard owning `districtId`. The name is unique cluster-wide (the
   * global directory holds it); directory row and shard row commit together or not at all.
   *
   * With the client's creation screen: appearance (RSI), names, starting clothes in their worn
   * slots (0x61-0x68, drawn in the appearance), items and abilities, all in the same two-phase
   * commit; any failure (unknown template or ability, clothing in the wrong slot) leaves nothing.
   *
   * As the client does it: `reserveName` first gives the id the name reply carries; pass it as
   * `characterId` and the character gets that id and the reserved name (InvalidStateError
   * `not_reserved` / `reservation_expired` when this account holds no live reservation of it;
   * nothing is written then). Without it, the creator's own reservation of the name still gives its id.
   *
   * @example
   * const neo = await db.characters.create({ accountId, name: 'Neo', archetype: 'hacker', gender: 'male', districtId: 1 });
   * const { characterId } = await db.characters.reserveName(accountId, 'Morpheus');
   * await db.characters.create({ accountId, characterId, districtId: 0, startingAbilities: MXO_HD_STARTING_ABILITIES });
   * const trinity = await db.characters.create({ accountId, name: 'Trinity', appearance: { sex: 1, body: 2, face: 5, hair: 3, hairColor: 1 },
   *   firstName: 'Trinity', lastName: 'Unknown', startingItems: [{ templateId: coat, slot: 0x65 }], startingAbilities: [0x80000012], districtId: 1 });
   */
  async create(input: CharacterCreateInput): Promise<Character> {
    const data = parseInput(createInput, input, 'character input');
    const router = this.ctx.router;
    const shard = router.topology.shardOfDistrict(data.districtId);
    const gender = data.gender ?? (data.appearance.sex === 1 ? 'female' : 'male');
    const items: Array<StartingItem & { itemId: number }> = [];
    for (const item of data.startingItems) items.push({ ...item, itemId: await this.ctx.ids.next('item_id') });
    // The name as created: the one given, or (create by characterId alone) the reserved one.
    let name: string | undefined = data.name;
    try {
      const { value: created } = await router.onNodes('character_create', [shard, GLOBAL], GLOBAL, async (tx) => {
        const global = await tx.branch(GLOBAL);
        const [account] = await global.rows('SELECT account_id FROM accounts WHERE account_id = ? LOCK IN SHARE MODE', [data.accountId]);
        if (!account) throw new NotFoundError('account', data.accountId);
        // Step one reserved the name (and its id), maybe; with characterId it must have.
        const claimed = await identity.claimReservedName(global, data.accountId, data.name, data.characterId);
        name = claimed.name;
        const characterId = await router.directory.insert(
          global,
          { accountId: data.accountId, characterName: claimed.name, shard, districtId: data.districtId },
          claimed.characterId,
        );
        const conn = await tx.branch(shard);
        await checkDistrictFence(conn, data.districtId, shard);
        await conn.exec(
          `INSERT INTO characters (character_id, account_id, character_name, archetype, gender, appearance_data, district_id)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [characterId, data.accountId, claimed.name, data.archetype, gender, JSON.stringify(data.appearance), data.districtId],
        );
        if (data.firstName !== undefined || data.lastName !== undefined || data.background !== undefined)
          await conn.exec('UPDATE characters SET first_name = ?, last_name = ?, background = ? WHERE character_id = ?', [
            data.firstName ?? null,
            data.lastName ?? null,
            data.background ?? null,
            characterId,
          ]);
        await conn.exec('INSERT INTO character_statistics (character_id) VALUES (?)', [characterId]);
        await conn.exec('INSERT INTO pvp_statistics (character_id) VALUES (?)', [characterId]);
        // The starting kit in the same transaction: a failure leaves no character, no name, no items.
        await insertStartingItems(conn, characterId, items);
        await insertStartingAbilities(conn, characterId, data.startingAbilities);
        return { characterId, name: claimed.name };
      });
      const { characterId } = created;
      router.directory.remember({
        characterId,
        accountId: data.accountId,
        characterName: created.name,
        shard,
        districtId: data.districtId,
        routeVersion: 0,
      });
      return this.get(characterId, { consistency: 'session' });
    } catch (error) {
      // The district moved to another shard meanwhile: create it there (the placement changed).
      if (error instanceof DistrictMovedError && (await router.topology.refreshPlacement())) return this.create(input);
      if (isDuplicateKey(error, 'character_name')) throw new NameTakenError('name', name ?? '', { cause: error });
      throw error;
    }
  }

  /**
   * Reads a character. `session` (default) sees this session's writes; see {@link Consistency}.
   *
   * @example
   * const neo = await db.characters.get(characterId, { consistency: 'session' });
   */
  async get(characterId: number, options: { consistency?: Consistency } = {}): Promise<Character> {
    const cid = positiveId(characterId, 'character id');
    const consistency = consistencyOf(options, 'session');
    // Coalesced with concurrent gets on the same shard: one `WHERE character_id IN (...)`.
    const { row, route } = await this.ctx.router.readCharacterKeyed(CHARACTER_ROWS, cid, consistency);
    if (row.deleted_at) throw new NotFoundError('character', cid); // soft-deleted
    return toCharacter(row, route.shard);
  }

  /**
   * Reads several characters at once (a crew window, buddies' status, a district's players): one
   * statement per shard (concurrent reads on a shard are coalesced), at the same consistency
   * rules as {@link get}. Returns one entry per id, in input order: `null` for an id that names no
   * character (never created, or deleted); a repeated id gives the same character twice. At most
   * {@link GET_MANY_MAX} ids; a bad id is a ValidationError naming its position (`characterIds.3`).
   *
   * @example
   * const [neo, missing, trinity] = await db.characters.getMany([neoId, 999_999, trinityId], { consistency: 'eventual' });
   */
  async getMany(characterIds: number[], options: { consistency?: Consistency } = {}): Promise<Array<Character | null>> {
    const ids = parseInput(getManyInput, characterIds, 'characterIds');
    const consistency = consistencyOf(options, 'session');
    return Promise.all(
      ids.map((cid) =>
        this.get(cid, { consistency }).catch((error: unknown) => {
          if (error instanceof NotFoundError) return null;
          throw error;
        }),
      ),
    );
  }

  /**
   * Entering the world: the character with its statistics, PvP, abilities, standings, inventory,
   * equipment, active missions (with objectives) and relationships from its shard, and its crew
   * and organization from global: one statement per node, both nodes at once (shared by
   * concurrent loads, as gets are). Each part has the shape of the single read it replaces
   * (inventory.list, missions.list, ...).
   * @example const { character, inventory, activeMissions, crew } = await db.characters.load(characterId);
   */
  async load(characterId: number, options: { consistency?: Consistency } = {}): Promise<CharacterLoad<Character>> {
    const cid = parseInput(id, characterId, 'character id');
    const level = consistencyOf(options, 'session');
    const [own, membership] = await Promise.all([
      this.ctx.router.readCharacterKeyed(LOAD_SHARD, cid, level),
      this.ctx.router.readGlobalKeyed(LOAD_MEMBERSHIPS, cid, level),
    ]);
    if (own.row.character.deleted_at) throw new NotFoundError('character', cid); // soft-deleted
    return buildCharacterLoad(toCharacter(own.row.character as unknown as CharacterRow, own.route.shard), cid, own.row.parts, membership);
  }

  /**
   * Characters of an account, from the directory then each shard (replica-eligible).
   *
   * @example
   * const mine = await db.characters.listByAccount(accountId);
   */
  async listByAccount(accountId: number, options: { consistency?: Consistency } = {}): Promise<Character[]> {
    const account = parseInput(id, accountId, 'account id');
    const consistency = consistencyOf(options, 'session');
    const routes = await this.ctx.router.readGlobal('directory_list', consistency, (conn) =>
      conn.rows<{ character_id: number }>(
        'SELECT character_id FROM character_directory WHERE account_id = ? AND deleted_at IS NULL ORDER BY character_id',
        [account],
      ),
    );
    return Promise.all(routes.map((r) => this.get(Number(r.character_id), { consistency })));
  }

  /**
   * The account's live characters as the login's character list shows them, in ONE read on
   * global (the directory): `[{ characterId, name, worldId, status, districtId }]`, oldest first.
   * @example const roster = await db.characters.roster(accountId); // [{ characterId, name: 'Neo', worldId: 1, status: 0, districtId: 1 }]
   */
  async roster(accountId: number, options: { consistency?: Consistency } = {}): Promise<RosterEntry[]> {
    return readRoster(this.ctx.router, parseInput(id, accountId, 'account id'), consistencyOf(options, 'session'));
  }

  /**
   * Adds `delta` (negative to take) to a character's money and records it in
   * transaction_history with `reason`. Never lets the balance go below zero.
   * With `idempotencyKey`, a retry (e.g. after an OutcomeUnknownError) returns the first call's
   * result with `replayed: true` and changes nothing; the key with another request throws
   * IdempotencyKeyReusedError.
   * @example const { money } = await db.characters.adjustMoney(id, 250, 'quest_reward', { idempotencyKey: 'quest-77-reward' });
   */
  async adjustMoney(
    characterId: number,
    delta: number,
    reason: MoneyReason,
    options: { idempotencyKey?: string } & WriteOptions = {},
  ): Promise<{ money: number; replayed: boolean }> {
    const data = parseInput(moneyInput, { characterId, delta, reason }, 'money adjustment');
    const { fencingToken, ...keyed } = options;
    const { idempotencyKey } = parseInput(idempotencyOptions, keyed, 'options');
    return this.ctx.router.onCharacter(
      'adjust_money',
      data.characterId,
      async (conn, route, _tx, current) => {
        const call =
          idempotencyKey === undefined
            ? undefined
            : { key: idempotencyKey, characterId: data.characterId, operation: 'adjust_money', request: data };
        const earlier = call && (await replayOf<{ money: number }>(conn, call));
        if (earlier) return { money: earlier.money, replayed: true };
        const money = Number(current.money) + data.delta;
        if (money < 0) throw new InsufficientFundsError(data.characterId, -data.delta, Number(current.money));
        // Balances stay exact JavaScript numbers (BIGINT beyond 2^53 would lose precision).
        if (money > Number.MAX_SAFE_INTEGER)
          throw new ValidationError('money adjustment', [{ field: 'delta', message: 'balance would exceed 2^53 - 1' }]);
        await conn.exec('UPDATE characters SET money = ? WHERE character_id = ?', [money, data.characterId]);
        await conn.exec(
          `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount, transaction_reason, district_id)
           VALUES (?, ?, ?, ?, ?, ?)`,
          [
            data.delta < 0 ? data.characterId : null,
            data.delta > 0 ? data.characterId : null,
            data.reason,
            Math.abs(data.delta),
            data.reason,
            current.district_id,
          ],
        );
        if (call) await remember(conn, call, { money });
        return { money, replayed: false };
      },
      fencing({ fencingToken }),
    );
  }

  /**
   * Flags a character online or offline. Goes through presence: online takes a presence claim
   * (refused with PresenceHeldError while another server holds the character), offline releases
   * it, so `characters.is_online` and the claim never disagree. Returns whether the flag changed
   * (and the claim's `fencingToken` when online: pass it to the character's writes).
   *
   * @deprecated Use db.presence.claim / heartbeat / release (this is db.presence.setOnline).
   * @example
   * const { changed } = await db.characters.setOnline(characterId, true);
   */
  async setOnline(
    characterId: number,
    online: boolean,
    options: SetOnlineOptions = {},
  ): Promise<{ changed: boolean; fencingToken?: number }> {
    if (!this.presenceLink) throw new Error('characters.setOnline: presence is not wired (a DataSession wires it)');
    return this.presenceLink.setOnline(characterId, online, options);
  }

  /** @internal db.presence, wired by the session: the online flag is a presence claim. */
  presenceLink?: {
    setOnline(characterId: number, online: boolean, options?: SetOnlineOptions): Promise<{ changed: boolean; fencingToken?: number }>;
  };

  /**
   * Moves a character to a district. Within its shard this updates the row; to a district on
   * another shard it moves every row the character owns (same ids) and its directory entry in
   * one two-phase commit. Event records stay on the old shard.
   *
   * @example
   * const { shard, movedShards } = await db.characters.moveToDistrict(characterId, 5, { fencingToken });
   */
  async moveToDistrict(
    characterId: number,
    districtId: number,
    options: WriteOptions = {},
  ): Promise<{ characterId: number; districtId: number; shard: string; movedShards: boolean }> {
    const cid = parseInput(id, characterId, 'character id');
    const target = parseInput(districtIdSchema, districtId, 'district id');
    const { fencingToken } = parseInput(fencedWriteOptions, options, 'options');
    return moveCharacter(this.ctx.router, this.ctx.writeBehind, cid, target, undefined, fencingToken);
  }

  /**
   * The seed's CleanupInactiveCharacters for the whole cluster: offline characters whose last
   * login is more than `days` days old are copied to `archived_characters` on their shard and
   * removed with everything they own, together with their directory row (one two-phase commit
   * each, so the directory never points at a character that is gone). Event records stay. A
   * character a server holds (a live presence claim) is skipped, whatever `is_online` says.
   *
   * @example
   * const { archived } = await db.characters.archiveInactive(30, { limit: 100 });
   */
  async archiveInactive(days: number, options: { limit?: number } = {}): Promise<{ archived: number[] }> {
    const age = parseInput(z.number().int().min(1).max(36_500), days, 'days');
    const limit = parseInput(z.number().int().min(1).max(10_000).default(100), options.limit, 'limit');
    const inactive = 'last_login < NOW() - INTERVAL ? DAY AND is_online = FALSE';
    const archived: number[] = [];
    const router = this.ctx.router;
    for (const nodes of router.topology.shards) {
      const candidates = await router.readShard('inactive_scan', nodes.key, 'strong', (conn) =>
        conn.rows<{ character_id: number }>(`SELECT character_id FROM characters WHERE ${inactive} ORDER BY character_id LIMIT ${limit}`, [
          age,
        ]),
      );
      for (const candidate of candidates) {
        const cid = Number(candidate.character_id);
        const { value: done } = await router.onNodes('archive_character', [nodes.key, GLOBAL], GLOBAL, async (tx) => {
          const shard = await tx.branch(nodes.key);
          const [still] = await shard.rows(`SELECT character_id FROM characters WHERE character_id = ? AND ${inactive} FOR UPDATE`, [
            cid,
            age,
          ]);
          if (!still) return false; // logged in (or moved) since the scan
          // A server holds the character (a live presence claim): not inactive, whatever is_online says.
          const global = await tx.branch(GLOBAL);
          const [held] = await global.rows(
            'SELECT 1 FROM presence_claims WHERE character_id = ? AND server_id IS NOT NULL AND expires_at > NOW(6) FOR UPDATE',
            [cid],
          );
          if (held) return false;
          await shard.exec('INSERT INTO archived_characters SELECT * FROM characters WHERE character_id = ?', [cid]);
          await deleteCharacterRows(shard, cid);
          await releaseMemberships(global, [cid]); // crew/organization counts and captaincy (FK cascades fire no triggers)
          await router.directory.remove(global, cid, nodes.key);
          return true;
        });
        if (done) archived.push(cid);
      }
    }
    return { archived };
  }
}

function toCharacter(row: CharacterRow, shard: string): Character {
  return {
    characterId: Number(row.character_id),
    accountId: Number(row.account_id),
    characterName: row.character_name,
    archetype: row.archetype,
    gender: row.gender,
    appearance: typeof row.appearance_data === 'string' ? JSON.parse(row.appearance_data) : row.appearance_data,
    level: Number(row.level),
    experience: Number(row.experience),
    faction: row.faction,
    districtId: Number(row.district_id),
    position: { x: row.position_x, y: row.position_y, z: row.position_z },
    money: Number(row.money),
    isOnline: Boolean(row.is_online),
    shard,
  };
}
