import { inList, paddedLength } from '../pool/in-list.js';
import type { Consistency, ReadRouter } from './read-router.js';
import type { ReadSession } from './read-session.js';
import type { ShardNodes } from './topology.js';

/** A table read by one integer key, as {@link PointReadBatcher} needs it. */
export interface PointTable<R extends object> {
  /** The metric operation of the statement (`character_get`). */
  operation: string;
  /** `SELECT <columns> FROM <table>`, without a WHERE clause. Library-built, never user input. */
  select: string;
  /** The key column the IN-list is on (`character_id`). */
  keyColumn: keyof R & string;
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

interface Batch<R extends object> {
  table: PointTable<R>;
  nodes: ShardNodes;
  consistency: Consistency;
  session: ReadSession;
  /** Key -> its callers (several callers may ask for the same key). */
  waiters: Map<number, Array<Waiter<R>>>;
}

/**
 * Coalesces concurrent point reads (as DataLoader does): reads of the same table on the same
 * shard at the same consistency that arrive within one turn of the event loop become one
 * `SELECT ... WHERE key IN (...)` statement, sent where the consistency level sends it (through
 * {@link ReadRouter}: strong to the primary, a `session` read waits for the session's position on
 * a replica). Each caller gets its own row, or `undefined` when the node has no row with its key:
 * what that means (stale route, lagging replica, no such row) stays the caller's decision.
 *
 * `session` reads of different read sessions are not mixed (each has its own position); strong
 * and eventual reads of every session share batches. One failing statement fails the callers of
 * that statement only.
 */
export class PointReadBatcher {
  private readonly batches = new Map<string, Batch<object>>();
  private readonly sessionIds = new WeakMap<ReadSession, number>();
  private nextSessionId = 0;
  private scheduled = false;
  /** SQL per table and padded size, built once. */
  private readonly statements = new WeakMap<object, string[]>();

  constructor(
    private readonly reads: ReadRouter,
    private readonly options: CoalesceOptions,
  ) {}

  /** The row with `key` read from `nodes` at `consistency`, or undefined when the node has none. */
  load<R extends object>(table: PointTable<R>, nodes: ShardNodes, consistency: Consistency, session: ReadSession, key: number): Promise<R | undefined> {
    if (!this.options.coalesce) return this.runOne(table, nodes, consistency, session, key);
    const batchKey = `${table.operation}\0${nodes.key}\0${consistency}\0${consistency === 'session' ? this.sessionId(session) : ''}`;
    let batch = this.batches.get(batchKey) as Batch<R> | undefined;
    if (!batch) {
      batch = { table, nodes, consistency, session, waiters: new Map() };
      this.batches.set(batchKey, batch as unknown as Batch<object>);
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
        this.run(batch.table, batch.nodes, batch.consistency, batch.session, chunk).then(
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

  /** One statement for one key (coalescing off): its row, without the batch's bookkeeping. */
  private runOne<R extends object>(table: PointTable<R>, nodes: ShardNodes, consistency: Consistency, session: ReadSession, key: number): Promise<R | undefined> {
    const sql = this.statement(table, 1);
    return this.reads.read(nodes, consistency, session, table.operation, (conn) => conn.rows<R>(sql, [key])).then(first);
  }

  /** One statement for `keys`: their rows by key. */
  private async run<R extends object>(
    table: PointTable<R>,
    nodes: ShardNodes,
    consistency: Consistency,
    session: ReadSession,
    keys: number[],
  ): Promise<Map<number, R>> {
    const sql = this.statement(table, paddedLength(keys.length));
    const rows = await this.reads.read(nodes, consistency, session, table.operation, (conn) => conn.rows<R>(sql, inList(keys).params));
    const byKey = new Map<number, R>();
    for (const row of rows) byKey.set(Number(row[table.keyColumn]), row);
    return byKey;
  }

  private statement<R extends object>(table: PointTable<R>, size: number): string {
    // Per table object, by size: no string key to build and hash on every read.
    let bySize = this.statements.get(table);
    if (!bySize) this.statements.set(table, (bySize = []));
    return (bySize[size] ??=
      size === 1 ? `${table.select} WHERE ${table.keyColumn} = ?` : `${table.select} WHERE ${table.keyColumn} IN (${new Array<string>(size).fill('?').join(', ')})`);
  }
}

function first<R>(rows: R[]): R | undefined {
  return rows[0];
}
