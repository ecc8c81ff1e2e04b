import { DistrictMovedError, StaleRouteError, ValidationError } from '../errors.js';
import { checkDistrictFence } from './district-fence.js';
import { fencingRequired } from './fencing-token.js';
import { shardsInLockOrder } from './lock-order.js';
import { lockRows, type LockedRow, type LockedRows } from './locked-rows.js';
import { asUnavailable, FAILOVER_RETRIES, primaryGone, readOnCurrentPrimary } from './primary-failover.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import type { TransactionOptions } from '../pool/node-pool.js';
import type { Coordinator, DistributedTx } from '../twopc/coordinator.js';
import type { CharacterRoute, Directory } from './directory.js';
import { PointReadBatcher, type KeyedRead } from './point-read-batcher.js';
import type { Consistency, ReadRouter } from './read-router.js';
import { balanceLimitError } from './balance-limit.js';
import type { ReadSession } from './read-session.js';
import { GLOBAL, type ShardKey, type Topology } from './topology.js';

/** Re-resolutions after a stale route before giving up (a character moving back and forth). */
export const STALE_ROUTE_RETRIES = 6;

/** A committed write that may have spanned several nodes. */
export interface Committed<T> {
  value: T;
  /** The XA transaction id when more than one node took part. */
  transactionId?: string;
}

/**
 * How a character write is fenced (docs/design.md, "Presence"). A server in the world for the
 * character passes its claim's `fencingToken`: the write is refused with PresenceLostError when the
 * claim was taken over or released since. With `presence.requireFencing` in the cluster config a
 * write without a token is refused, unless it says why it needs none (`unfenced`: presence itself,
 * operator tooling, moves).
 */
export interface Fencing {
  /** The presence claim's token of the character the call acts for. */
  fencingToken?: number;
  /** Why this write needs no claim; exempts it from `presence.requireFencing`. */
  unfenced?: string;
}

/** Options of a write on one character's shard. */
export interface CharacterWriteOptions extends Fencing {
  /** Also open a branch on global (a two-phase commit, decided on global). */
  withGlobal?: boolean;
}

/** Options of a write on several characters' shards. */
export interface CharactersWriteOptions extends Fencing {
  /** Extra participants beyond the characters' shards (`global`, another shard). */
  also?: ShardKey[];
  /** Where the decision record lives; default: global if it takes part, else the last shard by name. */
  decisionKey?: ShardKey;
  /** The character the call acts for, whose row `fencingToken` is checked on; default the first. */
  actorId?: number;
  /**
   * Start `work` at once, beside the row locks (which still run one after another in the global
   * order): for work that writes a shard while the next shard's row is being locked (trades). It
   * must await {@link LockedRows.of} before it writes a character's shard.
   */
  pipeline?: boolean;
  /**
   * Across shards, lock every shard's rows at once with NOWAIT (the coordinator's `nowaitFirst`):
   * a row another transaction holds rolls the attempt back and it runs again with the locks in the
   * global order. For work that takes every other contended lock with NOWAIT while `tx.nowait` is
   * set (trades: {@link LockedRows.forUpdate}).
   */
  nowaitFirst?: boolean;
}

export type { LockClause, LockedRow, LockedRows } from './locked-rows.js';

/** What {@link Router} needs from the cluster. */
export interface RouterDeps {
  topology: Topology;
  directory: Directory;
  coordinator: Coordinator;
  reads: ReadRouter;
  /** `presence.requireFencing` of the cluster config: every character write carries a token. */
  requireFencing?: boolean;
  /** Point reads coalesced across sessions (absent: this router coalesces its own). */
  pointReads?: PointReadBatcher;
}

/**
 * The one place where a repository says what it needs, and the one write path: every write runs
 * through the {@link Coordinator} (local transaction on one node, two-phase commit across several),
 * so every write gets the same deadlock retry, typed errors, GTID recording for read-your-writes
 * and metrics. Character routes are re-resolved when the character moved (docs/design.md,
 * "Routing").
 *
 * A repository never opens a transaction or picks a pool itself; it calls one of:
 * - {@link onGlobal}, {@link onShard}, {@link onDistrict}: one node, a local transaction;
 * - {@link onCharacter}: the character's shard (optionally with global: 2PC);
 * - {@link onCharacters}: several characters: local when they share a shard, 2PC when not;
 *   both lock the characters' rows first, in the one global order (routing/lock-order.ts), and
 *   check the caller's fencing token there;
 * - {@link onNodes}: any set of nodes (reference data on every node, cluster chores);
 * - {@link readGlobal}, {@link readShard}, {@link readCharacter}: reads at a consistency.
 */
export class Router {
  private readonly pointReads: PointReadBatcher;

  constructor(
    private readonly deps: RouterDeps,
    /** The caller's session: writes are noted here so its `session` reads see them. */
    readonly session: ReadSession,
  ) {
    this.pointReads = deps.pointReads ?? new PointReadBatcher(deps.reads, { coalesce: true, maxBatch: 8 });
  }

  get topology(): Topology {
    return this.deps.topology;
  }

  get directory(): Directory {
    return this.deps.directory;
  }

  /** `presence.requireFencing` of the cluster config (for fenced writes outside onCharacter: positions). */
  get requireFencing(): boolean {
    return this.deps.requireFencing ?? false;
  }

  /** A local transaction on the global primary. */
  async onGlobal<T>(operation: string, work: (conn: PooledConnection) => Promise<T>): Promise<T> {
    return this.onShard(operation, GLOBAL, work);
  }

  /** A local transaction on one primary (`global` or a shard name). */
  async onShard<T>(operation: string, shard: ShardKey, work: (conn: PooledConnection) => Promise<T>): Promise<T> {
    const { value } = await this.onNodes(operation, [shard], shard, async (tx) => work(await tx.branch(shard)));
    return value;
  }

  /**
   * A local transaction on the shard that owns `districtId` (world content, event records). The
   * district's fence row is taken first (waits out a move's final step; a moved district reloads
   * the placement and runs `work` again on the new shard).
   */
  async onDistrict<T>(operation: string, districtId: number, work: (conn: PooledConnection, shard: ShardKey) => Promise<T>): Promise<T> {
    return this.withDistrict(districtId, (shard) =>
      this.onShard(operation, shard, async (conn) => {
        await checkDistrictFence(conn, districtId, shard);
        return work(conn, shard);
      }),
    );
  }

  /**
   * Runs `fn` with the shard owning `districtId`; on a {@link DistrictMovedError} (its fence row
   * says moved: this process's placement is stale) reloads the placement from global and runs it again.
   */
  async withDistrict<T>(districtId: number, fn: (shard: ShardKey) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(this.deps.topology.shardOfDistrict(districtId));
      } catch (error) {
        if (!(error instanceof DistrictMovedError) || attempt >= STALE_ROUTE_RETRIES) throw error;
        await this.deps.topology.refreshPlacement();
        await staleRouteBackoff(attempt);
      }
    }
  }

  /**
   * A transaction on the shard where the character lives. The character's row is locked first
   * (`locked`; a missing row means a stale route: re-resolved and `work` runs again) and the
   * caller's fencing token checked on it. With `withGlobal`, `tx.branch('global')` is also
   * available and the whole is one two-phase commit decided on global.
   */
  async onCharacter<T>(
    operation: string,
    characterId: number,
    work: (conn: PooledConnection, route: CharacterRoute, tx: DistributedTx, locked: LockedRow) => Promise<T>,
    options: CharacterWriteOptions = {},
  ): Promise<T> {
    const { withGlobal, ...fencing } = options;
    const { value } = await this.onCharacters(
      operation,
      [characterId],
      async (tx, [route], rows) => {
        const locked = await rows.of(characterId);
        return work(await tx.branch(route!.shard), route!, tx, locked);
      },
      withGlobal ? { ...fencing, also: [GLOBAL], decisionKey: GLOBAL } : fencing,
    );
    return value;
  }

  /**
   * A transaction over several characters' shards (plus `also`): a local transaction when they
   * all live on one node, a two-phase commit when not. `routes` come in the order of
   * `characterIds`. The characters' rows are locked before `work` runs (beside it with
   * `pipeline`), in the global order (shard name, then id: routing/lock-order.ts) so concurrent
   * calls cannot deadlock; `work` takes any global row after them. A missing row (a
   * {@link StaleRouteError}) re-resolves every route and runs `work` again.
   */
  async onCharacters<T>(
    operation: string,
    characterIds: number[],
    work: (tx: DistributedTx, routes: CharacterRoute[], locked: LockedRows) => Promise<T>,
    options: CharactersWriteOptions = {},
  ): Promise<Committed<T>> {
    this.checkFencing(operation, options);
    return this.withRoutes(characterIds, (routes) => {
      const keys = shardsInLockOrder(new Set([...routes.map((r) => r.shard), ...(options.also ?? [])]));
      const decisionKey = options.decisionKey ?? (keys.includes(GLOBAL) ? GLOBAL : keys[keys.length - 1]!);
      return this.onNodes(
        operation,
        keys,
        decisionKey,
        async (tx) => {
          const locks = lockRows(
            tx,
            routes,
            options.fencingToken === undefined
              ? undefined
              : {
                  characterId: options.actorId ?? characterIds[0]!,
                  token: options.fencingToken,
                },
          );
          if (!options.pipeline) await locks.all;
          const value = await work(tx, routes, locks);
          await locks.all; // every row was locked (and fenced) before the commit
          return value;
        },
        { nowaitFirst: options.nowaitFirst },
      );
    });
  }

  /** A write without a token where the cluster requires one: refused before any SQL. */
  private checkFencing(operation: string, fencing: Fencing): void {
    if (fencing.fencingToken !== undefined) {
      if (!Number.isSafeInteger(fencing.fencingToken) || fencing.fencingToken <= 0)
        throw new ValidationError(operation, [{ field: 'fencingToken', message: 'must be a positive integer' }]);
      return;
    }
    if (this.deps.requireFencing && fencing.unfenced === undefined) throw fencingRequired(operation);
  }

  /**
   * Work on any set of primaries, all-or-nothing: a local transaction on one node, a two-phase
   * commit (decided on `decisionKey`) on several. The commit's GTIDs go to the caller's session.
   */
  async onNodes<T>(
    operation: string,
    keys: ShardKey[],
    decisionKey: ShardKey,
    work: (tx: DistributedTx) => Promise<T>,
    options: { nowaitFirst?: boolean } & TransactionOptions = {},
  ): Promise<Committed<T>> {
    const { topology } = this.deps;
    for (let attempt = 0; ; attempt++) {
      // Global too: the work may reach it for ids or routes without it being a participant.
      const watched = [...new Set([...keys, GLOBAL])];
      const primaries = watched.map((k) => (topology.has(k) ? topology.primary(k) : undefined));
      try {
        const result = await this.deps.coordinator.run(operation, keys, decisionKey, work, options).catch((e: unknown) => {
          throw balanceLimitError(e);
        });
        for (const [shard, gtid] of result.gtids) this.session.noteWrite(shard, gtid);
        return { value: result.value, transactionId: result.transactionId };
      } catch (error) {
        // A primary that is gone or read-only (fenced by a failover): nothing committed (an
        // unknown outcome is another error). Global may name a promoted primary: if this process
        // follows a new one now, the work runs again there; otherwise the caller gets a typed error.
        if (!primaryGone(error)) throw error;
        if (attempt >= FAILOVER_RETRIES) throw asUnavailable(error);
        await topology.refreshPrimaries().catch(() => false);
        const moved = watched.some((k, i) => topology.has(k) && topology.primary(k) !== primaries[i]);
        if (!moved) throw asUnavailable(error);
      }
    }
  }

  /** Global and every shard, the decision on global: reference data kept identical everywhere. */
  async onEveryNode<T>(operation: string, work: (tx: DistributedTx, keys: ShardKey[]) => Promise<T>): Promise<T> {
    const keys = this.deps.topology.all().map((n) => n.key);
    return (await this.onNodes(operation, keys, GLOBAL, (tx) => work(tx, keys))).value;
  }

  /** Notes a write committed outside the coordinator (write-behind flushes) in the caller's session. */
  noteWrite(shard: ShardKey, gtid: string | undefined): void {
    this.session.noteWrite(shard, gtid);
  }

  /** A read on global at `consistency`. */
  async readGlobal<T>(operation: string, consistency: Consistency, fn: (conn: PooledConnection) => Promise<T>): Promise<T> {
    return this.readShard(operation, GLOBAL, consistency, fn);
  }

  /** A read on one shard (or global) at `consistency`. */
  async readShard<T>(operation: string, shard: ShardKey, consistency: Consistency, fn: (conn: PooledConnection) => Promise<T>): Promise<T> {
    return readOnCurrentPrimary(this.deps.topology, shard, (nodes) =>
      this.deps.reads.read(nodes, consistency, this.session, operation, fn),
    );
  }

  /**
   * A keyed read on global (`key` is whatever the read is keyed by, a character id for spawn),
   * coalesced with concurrent reads of the same kind (see {@link PointReadBatcher}).
   */
  async readGlobalKeyed<R>(read: KeyedRead<R>, key: number, consistency: Consistency): Promise<R | undefined> {
    return readOnCurrentPrimary(this.deps.topology, GLOBAL, (nodes) => this.pointReads.load(read, nodes, consistency, this.session, key));
  }

  /** The same read on every shard at once (gathered reads: history, leaderboards, logs), in shard order. */
  async readEveryShard<T>(
    operation: string,
    consistency: Consistency,
    fn: (conn: PooledConnection, shard: ShardKey) => Promise<T>,
  ): Promise<T[]> {
    return Promise.all(this.deps.topology.shards.map((s) => this.readShard(operation, s.key, consistency, (conn) => fn(conn, s.key))));
  }

  /**
   * A read on the character's shard. `fn` must return `undefined` when the character's own row is
   * not there (its query joins or selects `characters`, so the read itself proves where the
   * character lives, in one round trip). A replica that lacks the row (lag) is retried on the
   * primary; a primary that lacks it means the route is stale: re-resolved, and read again.
   */
  async readCharacter<T>(
    operation: string,
    characterId: number,
    consistency: Consistency,
    fn: (conn: PooledConnection, route: CharacterRoute) => Promise<T | undefined>,
  ): Promise<T> {
    return this.withRoutes([characterId], async ([route]) => {
      const attempt = (level: Consistency) => this.readShard(operation, route!.shard, level, (conn) => fn(conn, route!));
      const found = (await attempt(consistency)) ?? (consistency === 'strong' ? undefined : await attempt('strong'));
      if (found === undefined) throw new StaleRouteError(characterId, route!.shard);
      return found;
    });
  }

  /**
   * What `read` gives for the character (a row of a table keyed by its id, its spawn statement)
   * from the character's shard, coalesced with concurrent reads of the same kind on the same
   * shard (see {@link PointReadBatcher}). The same rules as {@link readCharacter}: a replica that
   * lacks the character (lag) is read again on the primary; a primary that lacks it means the
   * route is stale: re-resolved, and read again. A character the directory does not know throws
   * NotFoundError.
   */
  async readCharacterKeyed<R>(
    read: KeyedRead<R>,
    characterId: number,
    consistency: Consistency,
  ): Promise<{ row: R; route: CharacterRoute }> {
    return this.withRoutes([characterId], async ([route]) => {
      const load = (level: Consistency) =>
        readOnCurrentPrimary(this.deps.topology, route!.shard, (nodes) =>
          this.pointReads.load(read, nodes, level, this.session, characterId),
        );
      const row = (await load(consistency)) ?? (consistency === 'strong' ? undefined : await load('strong'));
      if (row === undefined) throw new StaleRouteError(characterId, route!.shard);
      return { row, route: route! };
    });
  }

  /**
   * Resolves the characters' routes, runs `fn`, and on a {@link StaleRouteError} resolves them
   * afresh and runs it again: for work whose participants depend on where characters live.
   */
  async withRoutes<T>(characterIds: number[], fn: (routes: CharacterRoute[]) => Promise<T>): Promise<T> {
    const directory = this.deps.directory;
    for (let attempt = 0; ; attempt++) {
      const routes =
        (attempt === 0 && cachedRoutes(directory, characterIds)) ||
        (await Promise.all(characterIds.map((id) => directory.resolve(id, { fresh: attempt > 0 }))));
      try {
        return await fn(routes);
      } catch (error) {
        const moved = error instanceof DistrictMovedError;
        if (!(error instanceof StaleRouteError || moved) || attempt >= STALE_ROUTE_RETRIES) throw error;
        // A district that moved: the characters in it moved too, and its shard is elsewhere now.
        if (moved) await this.deps.topology.refreshPlacement();
        for (const id of characterIds) directory.invalidate(id);
        await staleRouteBackoff(attempt);
      }
    }
  }
}

/** Every route from the cache, without a promise; undefined when one is missing. */
function cachedRoutes(directory: Directory, characterIds: number[]): CharacterRoute[] | undefined {
  const routes: CharacterRoute[] = [];
  for (const id of characterIds) {
    const route = directory.cached(id);
    if (!route) return undefined;
    routes.push(route);
  }
  return routes;
}

/** A short, growing pause so a re-resolution does not land in the middle of the next move. */
function staleRouteBackoff(attempt: number): Promise<void> {
  return attempt === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
}
