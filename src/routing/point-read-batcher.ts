import { inList, paddedLength } from '../pool/in-list.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import type { Consistency, ReadRouter } from './read-router.js';
import type { ReadSession } from './read-session.js';
import type { ShardNodes } from './topology.js';

/**
 * A read by one integer key that several keys can share in one statement: a table's row by id
 * ({@link pointTable}), or a character's spawn or load statement whose every part filters on
 * `character_id IN (...)` and names the character it belongs to.
 */
export interface KeyedRead<R> {
  /** The metric operation of the statement (`character_get`); also what batches are keyed by. */
  operation: string;
  /**
   * One statement for `keys` (distinct, at most the batch size): each key's result, absent from
   * the map when the node has nothing for it.
   */
  readMany(conn: PooledConnection, keys: number[]): Promise<Map<number, R>>;
  /** The same for one key, when a cheaper single-key shape exists (coalescing off, or alone). */
  readOne?(conn: PooledConnection, key: number): Promise<R | undefined>;
}

/** Rows by the key each belongs to, in their order: how a {@link KeyedRead} splits its statement's answer. */
export function groupByKey<T>(rows: readonly T[], keyOf: (row: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}

/** A table read by one integer key, for {@link pointTable}. */
export interface PointTable<R extends object> {
  /** The metric operation of the statement (`character_get`). */
  operation: string;
  /** `SELECT <columns> FROM <table>`, without a WHERE clause. Library-built, never user input. */
  select: string;
  /** The key column the IN-list is on (`character_id`). */
  keyColumn: keyof R & string;
}

/** The keyed read of a table's rows by key: `= ?` for one key, a padded `IN (...)` for several. */
export function pointTable<R extends object>(table: PointTable<R>): KeyedRead<R> {
  const one = `${table.select} WHERE ${table.keyColumn} = ?`;
  // By padded size: a few statement texts (src/pool/in-list.ts), each built once.
  const bySize: string[] = [];
  return {
    operation: table.operation,
    readOne: (conn, key) => conn.rows<R>(one, [key]).then(first),
    async readMany(conn, keys) {
      const size = paddedLength(keys.length);
      const sql = (bySize[size] ??= `${table.select} WHERE ${table.keyColumn} IN (${new Array<string>(size).fill('?').join(', ')})`);
      const rows = await conn.rows<R>(sql, inList(keys).params);
      const byKey = new Map<number, R>();
      for (const row of rows) byKey.set(Number(row[table.keyColumn]), row);
      return byKey;
    },
  };
}

/** How reads are coalesced (config `reads`). */
export interface CoalesceOptions {
  /** Off: every point read is its own statement. */
  coalesce: boolean;
  /** Keys per statement at most (a power of two); more waiting keys take several statements. */
  maxBatch: number;
}

interface Waiter<R> {
  resolve(row: R | undefined): void;
  reject(error: unknown): void;
}

interface Batch<R> {
  read: KeyedRead<R>;
  nodes: ShardNodes;
  consistency: Consistency;
  session: ReadSession;
  /** Key -> its callers (several callers may ask for the same key). */
  waiters: Map<number, Array<Waiter<R>>>;
}

/**
 * Coalesces concurrent keyed reads (as DataLoader does): reads of the same {@link KeyedRead} on
 * the same shard at the same consistency that arrive within one turn of the event loop become one
 * statement for all their keys (`SELECT ... WHERE key IN (...)`), sent where the consistency
 * level sends it (through {@link ReadRouter}: strong to the primary, a `session` read waits for
 * the session's position on a replica). Each caller gets its own result, or `undefined` when the
 * node has nothing for its key: what that means (stale route, lagging replica, no such row) stays
 * the caller's decision.
 *
 * `session` reads of different read sessions are not mixed (each has its own position); strong
 * and eventual reads of every session share batches. One failing statement fails the callers of
 * that statement only.
 */
export class PointReadBatcher {
  private readonly batches = new Map<string, Batch<unknown>>();
  private readonly sessionIds = new WeakMap<ReadSession, number>();
  private nextSessionId = 0;
  private scheduled = false;

  constructor(
    private readonly reads: ReadRouter,
    private readonly options: CoalesceOptions,
  ) {}

  /** What `read` gives for `key` on `nodes` at `consistency`, or undefined when the node has nothing. */
  load<R>(read: KeyedRead<R>, nodes: ShardNodes, consistency: Consistency, session: ReadSession, key: number): Promise<R | undefined> {
    if (!this.options.coalesce) return this.runOne(read, nodes, consistency, session, key);
    const batchKey = `${read.operation}\0${nodes.key}\0${consistency}\0${consistency === 'session' ? this.sessionId(session) : ''}`;
    let batch = this.batches.get(batchKey) as Batch<R> | undefined;
    if (!batch) {
      batch = { read, nodes, consistency, session, waiters: new Map() };
      this.batches.set(batchKey, batch as Batch<unknown>);
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current I/O phase: callers woken by the same burst of answers share a statement.
        setImmediate(() => this.flush());
      }
    }
    return new Promise((resolve, reject) => {
      const waiters = batch.waiters.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else batch.waiters.set(key, [{ resolve, reject }]);
    });
  }

  private sessionId(session: ReadSession): number {
    let id = this.sessionIds.get(session);
    if (id === undefined) this.sessionIds.set(session, (id = this.nextSessionId++));
    return id;
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.batches.values()];
    this.batches.clear();
    for (const batch of batches) {
      const keys = [...batch.waiters.keys()];
      for (let start = 0; start < keys.length; start += this.options.maxBatch) {
        const chunk = keys.slice(start, start + this.options.maxBatch);
        this.run(batch.read, batch.nodes, batch.consistency, batch.session, chunk).then(
          (rows) => {
            for (const key of chunk) for (const waiter of batch.waiters.get(key)!) waiter.resolve(rows.get(key));
          },
          (error: unknown) => {
            for (const key of chunk) for (const waiter of batch.waiters.get(key)!) waiter.reject(error);
          },
        );
      }
    }
  }

  /** One statement for one key (coalescing off): its result, without the batch's bookkeeping. */
  private runOne<R>(
    read: KeyedRead<R>,
    nodes: ShardNodes,
    consistency: Consistency,
    session: ReadSession,
    key: number,
  ): Promise<R | undefined> {
    return this.reads.read(nodes, consistency, session, read.operation, (conn) =>
      read.readOne ? read.readOne(conn, key) : read.readMany(conn, [key]).then((found) => found.get(key)),
    );
  }

  /** One statement for `keys`: their results by key (a lone key takes the single-key shape). */
  private run<R>(
    read: KeyedRead<R>,
    nodes: ShardNodes,
    consistency: Consistency,
    session: ReadSession,
    keys: number[],
  ): Promise<Map<number, R>> {
    if (keys.length === 1 && read.readOne) {
      const key = keys[0]!;
      return this.runOne(read, nodes, consistency, session, key).then((r) => (r === undefined ? new Map() : new Map([[key, r]])));
    }
    return this.reads.read(nodes, consistency, session, read.operation, (conn) => read.readMany(conn, keys));
  }
}

function first<R>(rows: R[]): R | undefined {
  return rows[0];
}
