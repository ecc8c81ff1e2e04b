import type { Connection, ExecuteValues, QueryValues, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { isConnectionLost } from './mysql-errors.js';

/** What mysql2's callback connection calls back with: an error, or the result. */
type Callback = (error: unknown, result?: unknown) => void;

/** The part of mysql2's callback connection the library uses. */
interface CallbackConnection {
  execute(sql: string, values: ExecuteValues, callback: Callback): void;
  query(sql: string, values: QueryValues, callback: Callback): void;
}

/** A result row as the driver returns it. */
export type Row = Record<string, unknown>;

/** mysql2 parses session-state tracking but leaves it out of its typings. */
interface TrackedHeader extends ResultSetHeader {
  stateChanges?: { systemVariables?: Record<string, string> };
}

/**
 * One MariaDB session. Wraps a mysql2 connection with the two calls the library uses
 * (`rows` for reads, `exec` for writes, both prepared and parameterised) and remembers the GTID
 * of the last write the server reported on this session (`session_track_system_variables`).
 */
export class PooledConnection {
  lastUsedAt = Date.now();
  /** Set when the connection must not go back to the pool (lost, or holds a prepared XA branch). */
  broken = false;
  /** The pool generation it was opened in (see NodePool). */
  generation = 0;
  private gtid: string | undefined;
  /** Closed after a lost connection or a timeout (see lost()). */
  private closed = false;
  /** The callback-style connection under mysql2's promise wrapper (untyped there, stable since mysql2 2.x). */
  private readonly callbacks: CallbackConnection;

  constructor(
    readonly raw: Connection,
    readonly threadId: number,
    private readonly statementTimeoutMs: number,
  ) {
    this.callbacks = (raw as unknown as { connection: CallbackConnection }).connection;
  }

  /** Runs a prepared SELECT and returns its rows. */
  rows<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.execute<RowDataPacket[]>(sql, params) as unknown as Promise<T[]>;
  }

  /** Runs a prepared write and returns the driver's OK packet. */
  async exec(sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
    const header = await this.execute<ResultSetHeader>(sql, params);
    this.noteGtid(header as TrackedHeader);
    return header;
  }

  /**
   * Runs a write whose text follows a batch's size (multi-row VALUES, a CASE per row) through the
   * text protocol, parameters escaped by the driver: a prepared statement per batch size would
   * hold hundreds of the server's `max_prepared_stmt_count` per connection (src/pool/in-list.ts).
   */
  async batch(sql: string, params: unknown[]): Promise<ResultSetHeader> {
    const header = await this.send<ResultSetHeader>('query', sql, params);
    this.noteGtid(header as TrackedHeader);
    return header;
  }

  /** A prepared statement (see {@link send}). */
  private execute<R>(sql: string, params: unknown[]): Promise<R> {
    return this.send<R>('execute', sql, params);
  }

  /**
   * A statement through mysql2's callback API: its promise wrapper captures a stack trace on every
   * call, about 10% of the process's CPU on the read path (docs/design.md, "Measured"). The
   * `(sql, values)` form: the options-object form costs about 5 us more per call in mysql2 3.x
   * (it spreads the object, then reshapes it while resolving named placeholders).
   */
  private send<R>(method: 'execute' | 'query', sql: string, params: unknown[]): Promise<R> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle: Callback = (error, result) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(this.lost(error));
        else resolve(result as R);
      };
      // This timer alone bounds the statement, prepare included: mysql2's own timeout (not asked
      // for here: a second timer and a bound function per call) times the execution only, and a
      // prepare the network swallowed waited for ever. On expiry the connection is closed (lost()).
      const timer = setTimeout(() => settle(statementTimeout()), this.statementTimeoutMs);
      if (method === 'execute') this.callbacks.execute(sql, params as ExecuteValues, settle);
      else this.callbacks.query(sql, params as QueryValues, settle);
    });
  }

  /**
   * A statement failed: when the connection is lost (or the statement timed out), mark it broken
   * and close it. mysql2 keeps a timed-out statement as the connection's current command, and
   * queues the next one behind it without starting that one's timer: a ROLLBACK sent after a
   * timeout on a connection the network holds would wait for ever (and keep its pool slot).
   * Closed, every later statement on it fails at once instead.
   */
  private lost(error: unknown): unknown {
    if (isConnectionLost(error) && !this.closed) {
      this.broken = true;
      this.closed = true;
      this.raw.destroy();
    }
    return error;
  }

  /**
   * Runs a statement through the text protocol: for what cannot be prepared (XA commands,
   * SET, KILL, DDL). Only ever called with library-built SQL, never with user input.
   */
  async text(sql: string, params: unknown[] = []): Promise<[unknown]> {
    const result = await this.send<unknown>('query', sql, params);
    if (result && !Array.isArray(result)) this.noteGtid(result as TrackedHeader);
    return [result];
  }

  /** Returns and forgets the GTID of the last write committed on this session. */
  takeGtid(): string | undefined {
    const gtid = this.gtid;
    this.gtid = undefined;
    return gtid;
  }

  private noteGtid(header: TrackedHeader): void {
    const gtid = header.stateChanges?.systemVariables?.last_gtid;
    // MariaDB reports an empty last_gtid for statements that wrote nothing to the binlog.
    if (gtid) this.gtid = gtid;
  }
}

/** The error of a statement not answered in time, as mysql2 reports its own query timeouts. */
function statementTimeout(): Error {
  return Object.assign(new Error('Query inactivity timeout'), { code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true });
}
