import { NotFoundError } from '../errors.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';

/** Where a character lives, from the global `character_directory`. */
export interface CharacterRoute {
  characterId: number;
  accountId: number;
  characterName: string;
  shard: string;
  districtId: number;
  routeVersion: number;
}

interface DirectoryRow {
  character_id: number;
  account_id: number;
  character_name: string;
  shard_name: string;
  district_id: number;
  route_version: number;
}

const SELECT_ROUTE =
  'SELECT character_id, account_id, character_name, shard_name, district_id, route_version FROM character_directory';

/**
 * character -> shard, cached in process. The cache can go stale when another process moves a
 * character; shard-side statements detect that (the row is gone from the old shard) and the
 * caller then calls {@link invalidate} and resolves again, never reading or writing there.
 */
export class Directory {
  private readonly cache = new Map<number, CharacterRoute>();
  /** Bumped by every invalidation: a lookup that overlapped one does not cache what it read before it. */
  private invalidations = 0;

  /** `global`: the global primary, or how to find it now (a failover replaces it). */
  constructor(private readonly globalOf: NodePool | (() => NodePool), private readonly maxEntries = 100_000) {}

  private get global(): NodePool {
    return typeof this.globalOf === 'function' ? this.globalOf() : this.globalOf;
  }

  /** The cached route, if any, without a promise (hot paths try this before {@link resolve}). */
  cached(characterId: number): CharacterRoute | undefined {
    return this.cache.get(characterId);
  }

  async resolve(characterId: number, options: { fresh?: boolean } = {}): Promise<CharacterRoute> {
    if (!options.fresh) {
      const cached = this.cache.get(characterId);
      if (cached) return cached;
    }
    const seen = this.invalidations;
    const route = await this.global.use('directory_resolve', async (conn) => {
      const rows = await conn.rows<DirectoryRow>(`${SELECT_ROUTE} WHERE character_id = ?`, [characterId]);
      return rows[0] ? toRoute(rows[0]) : undefined;
    });
    if (!route) {
      this.cache.delete(characterId);
      throw new NotFoundError('character', characterId);
    }
    if (seen === this.invalidations) this.remember(route);
    return route;
  }

  /** Every character of an account (from the primary: the list decides writes such as deletes). */
  async ofAccount(accountId: number, conn?: PooledConnection, options: { lock?: boolean } = {}): Promise<CharacterRoute[]> {
    const lock = options.lock ? ' FOR UPDATE' : '';
    const query = async (c: PooledConnection) =>
      (await c.rows<DirectoryRow>(`${SELECT_ROUTE} WHERE account_id = ? ORDER BY character_id${lock}`, [accountId])).map(toRoute);
    return conn ? query(conn) : this.global.use('directory_of_account', query);
  }

  /** Locks and reads a route inside a global-branch transaction (moves, deletes). */
  async lock(conn: PooledConnection, characterId: number): Promise<CharacterRoute> {
    const rows = await conn.rows<DirectoryRow>(`${SELECT_ROUTE} WHERE character_id = ? FOR UPDATE`, [characterId]);
    if (!rows[0]) throw new NotFoundError('character', characterId);
    return toRoute(rows[0]);
  }

  /**
   * Inserts a new character's row inside a global-branch transaction; returns its id: the one
   * given (reserved earlier by {@link reserveId}), else the next of the table's AUTO_INCREMENT.
   */
  async insert(conn: PooledConnection, entry: Omit<CharacterRoute, 'characterId' | 'routeVersion'>, characterId?: number): Promise<number> {
    if (characterId !== undefined) {
      await conn.exec(
        'INSERT INTO character_directory (character_id, account_id, character_name, shard_name, district_id) VALUES (?, ?, ?, ?, ?)',
        [characterId, entry.accountId, entry.characterName, entry.shard, entry.districtId],
      );
      return characterId;
    }
    const header = await conn.exec(
      'INSERT INTO character_directory (account_id, character_name, shard_name, district_id) VALUES (?, ?, ?, ?)',
      [entry.accountId, entry.characterName, entry.shard, entry.districtId],
    );
    return Number(header.insertId);
  }

  /**
   * Takes the next character id from the directory's AUTO_INCREMENT without a character, inside a
   * global-branch transaction (a name reservation holds it until create). A row is inserted and
   * deleted in the same transaction: never visible, but the counter has moved past the id for
   * good (InnoDB never hands a value out twice, and it persists across restarts since MariaDB
   * 10.2), and replicas move theirs when they apply the insert, so a promoted replica does not
   * hand it out either. The row's name is '~r<connection id>' (no valid name has '~', and one
   * session has one such row at a time): not the reserved name, whose index gap concurrent
   * reservations hold shared locks on, so inserting it there would deadlock them with each other.
   */
  async reserveId(conn: PooledConnection, accountId: number): Promise<number> {
    const header = await conn.exec(
      "INSERT INTO character_directory (account_id, character_name, shard_name, district_id, deleted_at) VALUES (?, CONCAT('~r', CONNECTION_ID()), '', 0, NOW(6))",
      [accountId],
    );
    const characterId = Number(header.insertId);
    await conn.exec('DELETE FROM character_directory WHERE character_id = ?', [characterId]);
    return characterId;
  }

  /**
   * Points a character at its new shard and district inside a global-branch transaction. Returns
   * false when the row no longer names `from` (another process moved it first: a stale route).
   */
  async move(conn: PooledConnection, characterId: number, from: string, to: { shard: string; districtId: number }): Promise<boolean> {
    const header = await conn.exec(
      `UPDATE character_directory SET shard_name = ?, district_id = ?, route_version = route_version + 1
        WHERE character_id = ? AND shard_name = ?`,
      [to.shard, to.districtId, characterId, from],
    );
    return header.affectedRows === 1;
  }

  /** Removes a character's row (it lived on `shard`) inside a global-branch transaction. */
  async remove(conn: PooledConnection, characterId: number, shard: string): Promise<void> {
    await conn.exec('DELETE FROM character_directory WHERE character_id = ? AND shard_name = ?', [characterId, shard]);
    this.invalidate(characterId);
  }

  remember(route: CharacterRoute): void {
    if (this.cache.size >= this.maxEntries) {
      // Drop the oldest entry (Map keeps insertion order): a simple bound on memory.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.delete(route.characterId);
    this.cache.set(route.characterId, route);
  }

  invalidate(characterId: number): void {
    this.invalidations++;
    this.cache.delete(characterId);
  }
}

function toRoute(row: DirectoryRow): CharacterRoute {
  return {
    characterId: Number(row.character_id),
    accountId: Number(row.account_id),
    characterName: row.character_name,
    shard: row.shard_name,
    districtId: Number(row.district_id),
    routeVersion: Number(row.route_version),
  };
}
