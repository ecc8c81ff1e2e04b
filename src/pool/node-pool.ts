import genericPool, { type Pool } from 'generic-pool';
import mysql from 'mysql2/promise';
import { inspect } from 'node:util';
import { describeNode, type NodeAddress } from '../config/node-address.js';
import type { PoolOptions } from '../config/schema.js';
import { AcquireTimeoutError, ClosedError, CommitOutcomeUnknownError, MxoError, ShardUnavailableError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { isConnectionLost } from './mysql-errors.js';
import { PooledConnection } from './pooled-connection.js';
import { connectionOptions } from './connection-options.js';

export type NodeRole = 'primary' | 'replica';

/** The statement timeout of a pool made without one (the cluster always passes twoPhase.statementTimeoutMs). */
const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/** Where a node sits in the topology: shard `global` or a shard name, role, and a stable name. */
export interface NodeIdentity {
  shard: string;
  role: NodeRole;
  /** `alpha-primary`, `alpha-replica-1`, `global-primary`: bounded, used as a metric label. */
  name: string;
}

/** The query counter and duration histogram of one operation and outcome on one node. */
interface OperationSeries {
  count: { inc(): void };
  duration: { observe(seconds: number): void };
}

/**
 * The connection pool of one database node: generic-pool over mysql2 connections.
 *
 * generic-pool retries a failing `create()` in a tight loop for as long as clients wait. To fail
 * fast without spinning, a refused connection marks the node down for `downBackoffMs`: acquires
 * during that window fail at once with {@link ShardUnavailableError}, waiting acquires are
 * rejected, and `create()` sleeps out the window before the next attempt.
 */
export class NodePool {
  readonly label: string;
  private readonly pool: Pool<PooledConnection>;
  private downUntil = 0;
  /** Server clock minus this host's clock, in ms (see serverNow). */
  private clockOffsetMs = 0;
  /** Bumped when a connection is found dead; older idle connections are then not reused. */
  private generation = 0;
  private lastError: unknown;
  private closed = false;
  private readonly waiters = new Set<(error: Error) => void>();
  private readonly sleepers = new Set<() => void>();
  /** Metric children bound once per operation and outcome (see seriesOf). */
  private readonly series = new Map<string, OperationSeries>();
  private readonly okSeries = new Map<string, OperationSeries>();
  private readonly acquireWait: { observe(seconds: number): void };
  /**
   * Connections released while nobody waited: handed out again at once, without generic-pool's
   * promise, timer and bookkeeping per borrow (the fast borrow path; generic-pool counts them as
   * borrowed). A connection found broken, of an old generation or idle past validateAfterIdleMs
   * goes back through generic-pool (destroyed, or validated by a ping on its next borrow).
   */
  private readonly ready: PooledConnection[] = [];
  /** Hands ready connections that went idle back to generic-pool, where its evictor sees them. */
  private readonly readySweep: NodeJS.Timeout;
  /**
   * Callers waiting while every one of the `max` connections is borrowed, first come first
   * served: release() hands its connection to the first of them directly (no generic-pool
   * request, dispatch or validation per borrow; at 16 reads in flight over 10 connections six
   * always wait). Bounded by maxWaitingClients, each by acquireTimeoutMs.
   */
  private readonly queue: QueuedAcquire[] = [];

  constructor(
    readonly identity: NodeIdentity,
    readonly address: NodeAddress,
    private readonly options: PoolOptions & { statementTimeoutMs?: number },
    private readonly metrics: Metrics,
  ) {
    this.label = `${identity.name} (${describeNode(address)})`;
    this.acquireWait = metrics.poolAcquireWait.labels({ shard: identity.shard, role: identity.role });
    this.pool = genericPool.createPool(
      {
        create: () => this.createConnection(),
        destroy: async (conn) => {
          conn.raw.destroy();
        },
        validate: (conn) => this.validate(conn),
      },
      {
        min: options.min,
        max: options.max,
        acquireTimeoutMillis: options.acquireTimeoutMs,
        maxWaitingClients: options.maxWaitingClients,
        testOnBorrow: true,
        idleTimeoutMillis: options.idleTimeoutMs,
        // The idle evictor only runs when this is set.
        evictionRunIntervalMillis: options.evictionRunIntervalMs,
        autostart: true,
      },
    );
    // Errors are surfaced to acquirers; this keeps them from becoming unhandled events.
    this.pool.on('factoryCreateError', () => {});
    this.pool.on('factoryDestroyError', () => {});
    this.readySweep = setInterval(() => this.returnIdleReady(), options.evictionRunIntervalMs);
    this.readySweep.unref();
  }

  /** `console.log(pool)` shows the node only: its connections hold the password. */
  [inspect.custom](): string {
    return `NodePool { ${this.label} }`;
  }

  /**
   * The server's clock now (ms since the epoch), from this host's clock and the offset measured
   * when the last connection opened (the host's own clock until then). Times compared across hosts
   * (transaction ages, server restarts) use the databases' clocks, not each process's.
   */
  serverNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** True while the node is in its back-off window after a refused connection. */
  isDown(): boolean {
    return Date.now() < this.downUntil;
  }

  /**
   * Ends the back-off window now: the cause is known to be gone (migrate has just created the
   * database a connection attempt at open was refused for).
   */
  forgetFailures(): void {
    this.downUntil = 0;
  }

  /** Counts for the pool gauge. */
  stats(): { idle: number; inUse: number; pending: number } {
    const ready = this.ready.length;
    return { idle: this.pool.available + ready, inUse: this.pool.borrowed - ready, pending: this.pool.pending + this.queue.length };
  }

  /** Borrows a connection. Fails fast with a typed error when the node is down or busy. */
  acquire(): Promise<PooledConnection> {
    if (this.closed) return Promise.reject(new ClosedError());
    const ready = this.takeReady();
    if (ready) {
      this.acquireWait.observe(0);
      return Promise.resolve(ready);
    }
    // Every connection is borrowed (none can be created): wait for the next release.
    if (this.pool.borrowed >= this.options.max && !this.isDown()) return this.enqueue();
    return this.acquireFromPool();
  }

  /** Waits in {@link queue} for a released connection. */
  private enqueue(): Promise<PooledConnection> {
    const { shard, role } = this.identity;
    if (this.queue.length >= this.options.maxWaitingClients) {
      this.metrics.poolAcquireFailures.inc({ shard, role, reason: 'queue_full' });
      return Promise.reject(new AcquireTimeoutError(this.label, 0, { cause: new Error('max waitingClients count exceeded') }));
    }
    return new Promise<PooledConnection>((resolve, reject) => {
      const entry: QueuedAcquire = {
        started: performance.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.queue.indexOf(entry);
          if (at >= 0) this.queue.splice(at, 1);
          this.metrics.poolAcquireFailures.inc({ shard, role, reason: 'timeout' });
          reject(new AcquireTimeoutError(this.label, this.options.acquireTimeoutMs));
        }, this.options.acquireTimeoutMs),
      };
      this.queue.push(entry);
    });
  }

  /** The first queued caller, its timer stopped and its wait observed; undefined when none waits. */
  private dequeue(): QueuedAcquire | undefined {
    const entry = this.queue.shift();
    if (entry) {
      clearTimeout(entry.timer);
      this.acquireWait.observe((performance.now() - entry.started) / 1000);
    }
    return entry;
  }

  /** Borrows through generic-pool (creating a connection when below `max`). */
  private async acquireFromPool(): Promise<PooledConnection> {
    const { shard, role } = this.identity;
    if (this.isDown()) {
      this.metrics.poolAcquireFailures.inc({ shard, role, reason: 'unavailable' });
      throw new ShardUnavailableError(this.label, { cause: this.lastError });
    }
    const started = performance.now();
    const acquiring = this.pool.acquire();
    let reject!: (error: Error) => void;
    const downSignal = new Promise<never>((_, r) => (reject = r));
    this.waiters.add(reject);
    try {
      const conn = await Promise.race([acquiring, downSignal]);
      this.acquireWait.observe((performance.now() - started) / 1000);
      return conn;
    } catch (error) {
      // If the race was lost to the down signal, hand the connection back when it arrives.
      acquiring.then(
        (conn) => this.release(conn),
        () => {},
      );
      throw this.acquireError(error);
    } finally {
      this.waiters.delete(reject);
    }
  }

  /** Returns a connection; a broken one is destroyed instead of going back to the pool. */
  release(conn: PooledConnection): void {
    conn.lastUsedAt = Date.now();
    const healthy = !conn.broken && !this.closed && conn.generation === this.generation;
    if (this.queue.length > 0) {
      if (healthy && this.pool.pending === 0) {
        // Straight to the first queued caller: the connection stays borrowed.
        this.dequeue()!.resolve(conn);
        return;
      }
      if (!healthy) {
        // Its slot frees up: the first queued caller borrows through generic-pool (a new
        // connection, or a fast failure while the node is down).
        const entry = this.dequeue()!;
        this.acquireFromPool().then(entry.resolve, entry.reject);
      }
    }
    if (conn.broken || this.closed) {
      this.pool.destroy(conn).catch(() => {});
    } else if (this.pool.pending === 0 && conn.generation === this.generation) {
      // Nobody waits in generic-pool: keep it for the next borrow (acquire takes these first).
      this.ready.push(conn);
    } else {
      this.pool.release(conn).catch(() => {});
    }
  }

  private returnIdleReady(): void {
    const now = Date.now();
    // The stack's bottom holds the longest idle.
    while (this.ready.length > 0 && now - this.ready[0]!.lastUsedAt >= this.options.validateAfterIdleMs) {
      this.pool.release(this.ready.shift()!).catch(() => {});
    }
  }

  /** A ready connection fit to use without a ping, or undefined (see {@link ready}). */
  private takeReady(): PooledConnection | undefined {
    const now = Date.now();
    for (let conn = this.ready.pop(); conn; conn = this.ready.pop()) {
      if (conn.broken || conn.generation !== this.generation) this.pool.destroy(conn).catch(() => {});
      else if (now - conn.lastUsedAt >= this.options.validateAfterIdleMs) this.pool.release(conn).catch(() => {});
      else return conn;
    }
    return undefined;
  }

  /**
   * Runs `fn` on a borrowed connection, timing it as `operation` and returning the connection
   * (or destroying it when the server connection was lost).
   */
  async use<T>(operation: string, fn: (conn: PooledConnection) => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome = 'ok';
    try {
      const conn = await this.acquire();
      try {
        return await fn(conn);
      } catch (error) {
        if (isConnectionLost(error)) {
          conn.broken = true;
          // Its idle siblings most likely died with it (server restarted): retire them all.
          this.generation++;
        }
        throw error;
      } finally {
        this.release(conn);
      }
    } catch (error) {
      outcome = error instanceof MxoError ? error.code.toLowerCase() : 'error';
      if (isConnectionLost(error)) throw new ShardUnavailableError(this.label, { cause: error });
      throw error;
    } finally {
      const series = this.seriesOf(operation, outcome);
      series.count.inc();
      series.duration.observe((performance.now() - started) / 1000);
    }
  }

  /**
   * The metric children of one operation and outcome, bound once: a labelled inc()/observe()
   * hashes its label object on every call, which showed in profiles of the read path.
   */
  private seriesOf(operation: string, outcome: string): OperationSeries {
    // The common case without building a key: the operation's ok series.
    if (outcome === 'ok') {
      let ok = this.okSeries.get(operation);
      if (!ok) this.okSeries.set(operation, (ok = this.boundSeries(operation, outcome)));
      return ok;
    }
    return this.boundSeries(operation, outcome);
  }

  private boundSeries(operation: string, outcome: string): OperationSeries {
    const key = `${operation}\0${outcome}`;
    let series = this.series.get(key);
    if (!series) {
      const labels = { shard: this.identity.shard, role: this.identity.role, operation, outcome };
      series = { count: this.metrics.tally(this.metrics.queries.labels(labels)), duration: this.metrics.queryDuration.labels(labels) };
      this.series.set(key, series);
    }
    return series;
  }

  /**
   * Runs `fn` inside BEGIN ... COMMIT on one connection and returns its value with the GTID of
   * the commit (undefined when nothing was written). Rolls back on any error in `fn`; a
   * connection lost during COMMIT throws {@link CommitOutcomeUnknownError} (it may have committed).
   */
  async transaction<T>(
    operation: string,
    fn: (conn: PooledConnection) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<{ value: T; gtid?: string }> {
    return this.use(operation, async (conn) => {
      if (options.readCommitted) await conn.text(READ_COMMITTED_NEXT);
      await conn.text('BEGIN');
      let value: T;
      try {
        value = await fn(conn);
      } catch (error) {
        if (!conn.broken) await conn.text('ROLLBACK').catch(() => (conn.broken = true));
        throw error;
      }
      try {
        await conn.text('COMMIT');
      } catch (error) {
        // Lost (or timed out) during COMMIT: the server may have committed before the answer was
        // lost. "Unavailable" would read as "nothing happened" and invite a blind retry.
        if (!isConnectionLost(error)) throw error;
        conn.broken = true;
        this.generation++;
        throw new CommitOutcomeUnknownError(this.identity.name, operation, { cause: error });
      }
      return { value, gtid: conn.takeGtid() };
    });
  }

  /** Ends every connection and stops the evictor. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of this.sleepers) wake();
    for (const reject of this.waiters) reject(new ClosedError());
    for (let entry = this.dequeue(); entry; entry = this.dequeue()) entry.reject(new ClosedError());
    clearInterval(this.readySweep);
    for (const conn of this.ready.splice(0)) await this.pool.release(conn).catch(() => {});
    await this.pool.drain();
    await this.pool.clear();
  }

  private async createConnection(): Promise<PooledConnection> {
    // Sleep out a down window instead of hammering a dead server (generic-pool retries at once).
    const wait = this.downUntil - Date.now();
    if (wait > 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.sleepers.add(done);
      });
    }
    if (this.closed) {
      // generic-pool retries a failed create at once while acquires are queued; an immediate
      // throw here would spin the event loop and starve the very timers that end those acquires.
      await new Promise((r) => setTimeout(r, 25));
      throw new ClosedError();
    }
    let raw: mysql.Connection | undefined;
    try {
      raw = await mysql.createConnection({
        ...connectionOptions(this.address),
        database: this.address.database,
        connectTimeout: this.options.connectTimeoutMs,
        supportBigNumbers: true,
        bigNumberStrings: false,
        dateStrings: false,
        timezone: 'Z',
      });
      raw.on('error', () => {});
      // last_gtid lets session reads find a replica that has this write; the lock wait timeout
      // bounds how long a statement can block behind a prepared XA branch. NO_AUTO_VALUE_ON_ZERO:
      // district 0 (the tutorial) is a real id, not "next AUTO_INCREMENT value". The idle
      // transaction timeout: see idleTransactionTimeoutSec.
      // Bounded like the handshake: a server (or network) that stops answering here would
      // otherwise hold this pool slot for ever, as a create that never ends.
      await raw.query(
        {
          sql: `SET SESSION session_track_system_variables = 'last_gtid', SESSION innodb_lock_wait_timeout = ?, SESSION time_zone = '+00:00',
           SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO'), SESSION idle_transaction_timeout = ?`,
          timeout: this.options.connectTimeoutMs,
        },
        [this.options.lockWaitTimeoutSec, idleTransactionTimeoutSec(this.options)],
      );
      await this.measureClock(raw);
      this.downUntil = 0;
      const conn = new PooledConnection(raw, raw.threadId ?? 0, this.options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS);
      conn.generation = this.generation;
      // A server that dies closes the socket: mark the connection so it is never handed out again.
      raw.on('error', () => (conn.broken = true));
      raw.on('end', () => (conn.broken = true));
      return conn;
    } catch (error) {
      // Connected but not set up: close it (mysql2 would keep a timed-out statement as current).
      raw?.destroy();
      this.lastError = error;
      this.downUntil = Date.now() + this.options.downBackoffMs;
      const failure = new ShardUnavailableError(this.label, { cause: error });
      for (const reject of this.waiters) reject(failure);
      throw failure;
    }
  }

  private async measureClock(raw: mysql.Connection): Promise<void> {
    const sent = Date.now();
    const [rows] = await raw.query<mysql.RowDataPacket[]>({
      sql: 'SELECT UNIX_TIMESTAMP(NOW(3)) * 1000 AS now',
      timeout: this.options.connectTimeoutMs,
    });
    const received = Date.now();
    this.clockOffsetMs = Math.round(Number(rows[0]?.now) - (sent + received) / 2);
  }

  private async validate(conn: PooledConnection): Promise<boolean> {
    if (conn.broken || conn.generation !== this.generation) return false;
    if (Date.now() - conn.lastUsedAt < this.options.validateAfterIdleMs) return true;
    // A frozen server never answers a ping: bound it, or the borrow (and the slot) hangs forever.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.connectTimeoutMs);
    });
    const alive = await Promise.race([
      conn.raw.ping().then(
        () => true,
        () => false,
      ),
      timedOut,
    ]);
    clearTimeout(timer);
    if (!alive) conn.broken = true;
    return alive;
  }

  private acquireError(error: unknown): Error {
    const { shard, role } = this.identity;
    if (error instanceof MxoError) {
      this.metrics.poolAcquireFailures.inc({ shard, role, reason: error.code === 'CLOSED' ? 'closed' : 'unavailable' });
      return error;
    }
    const name = (error as Error | undefined)?.name;
    const message = (error as Error | undefined)?.message ?? '';
    if (name === 'TimeoutError') {
      this.metrics.poolAcquireFailures.inc({ shard, role, reason: 'timeout' });
      return new AcquireTimeoutError(this.label, this.options.acquireTimeoutMs, { cause: error });
    }
    if (message.includes('max waitingClients')) {
      this.metrics.poolAcquireFailures.inc({ shard, role, reason: 'queue_full' });
      return new AcquireTimeoutError(this.label, 0, { cause: error });
    }
    this.metrics.poolAcquireFailures.inc({ shard, role, reason: 'unavailable' });
    return new ShardUnavailableError(this.label, { cause: error });
  }
}

/** A caller waiting in {@link NodePool}'s queue for a released connection. */
interface QueuedAcquire {
  started: number;
  resolve(conn: PooledConnection): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * `idle_transaction_timeout` of every pooled session, in seconds. A session whose client the
 * network lost in the middle of a transaction (a half-open socket: the server never sees the
 * close) would otherwise keep its row locks until `wait_timeout` (8 hours by default), and every
 * later write to those rows fails on its lock wait. The server ends such a session once it has
 * idled this long; a prepared XA branch survives that (MariaDB detaches it) and recovery settles
 * it. Longer than any wait the library makes between two statements of one of its transactions
 * (a connection to acquire, statements on other nodes, the decision and its fence), so only
 * sessions nobody is coming back to are ended.
 */
export function idleTransactionTimeoutSec(options: Pick<PoolOptions, 'acquireTimeoutMs'> & { statementTimeoutMs?: number }): number {
  return Math.ceil((options.acquireTimeoutMs + 3 * (options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS)) / 1000);
}

/** How a transaction runs (NodePool.transaction, Coordinator.run). */
export interface TransactionOptions {
  /**
   * READ COMMITTED for this transaction only: its locking reads take record locks, no gap locks.
   * For work that locks rows on one server and then waits on another (a character's rows copied
   * between shards): gap locks held there could close a wait cycle across servers that no server
   * sees (docs/design.md, "Two cycles the lock order does not see").
   */
  readCommitted?: boolean;
}

/** Applies to the next transaction on the session only, then the session's level again. */
export const READ_COMMITTED_NEXT = 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED';
