import { ConflictError, MxoError, OutcomeUnknownError, ShardUnavailableError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { ER_LOCK_WAIT_TIMEOUT, errnoOf, isConnectionLost, isRetryableLockError } from '../pool/mysql-errors.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { resolveDecision } from './decision.js';
import { branchQualifier, newGtrid, xidLiteral } from './xid.js';

/** Points where a test can stop the coordinating process (fault injection). */
export type CoordinatorPhase = 'prepared' | 'deciding' | 'decided' | 'committed_branch';

export interface CoordinatorHooks {
  /** Called after each phase; a test may kill the process here. */
  onPhase?: (phase: CoordinatorPhase, info: { gtrid: string; operation: string; key?: string }) => void | Promise<void>;
}

export interface CoordinatorOptions {
  deadlockRetries: number;
}

/** The open transaction handed to the work function. */
export interface DistributedTx {
  /** The global transaction id (`mxo:<decision node>:...`), or undefined for a local one. */
  readonly id: string | undefined;
  /**
   * The connection of the branch on `key` (`global` or a shard), opened on first use. Open
   * branches in the global lock order (shard name, then id) so transactions cannot deadlock.
   */
  branch(key: string): Promise<PooledConnection>;
  /**
   * Declares the work on branch `key` done and prepares it now (XA END + XA PREPARE), so it
   * overlaps work still running on other branches. Nothing may run on that branch afterwards.
   * A no-op for the decision branch, for a local transaction and for a branch never opened.
   */
  prepare(key: string): Promise<void>;
}

export interface CommitResult<T> {
  value: T;
  /** GTID of each branch's commit, by key, for read-your-writes. */
  gtids: Map<string, string>;
  /** The XA transaction id when more than one node took part. */
  transactionId?: string;
}

interface Branch {
  key: string;
  pool: NodePool;
  conn: PooledConnection;
  /** XA branch (prepared before the decision) or the local decision branch. */
  xa: boolean;
  bqual: string;
  /** idle: XA END done, XA PREPARE not (yet) done. */
  state: 'active' | 'idle' | 'prepared' | 'ended';
}

/**
 * Runs work that spans several primaries all-or-nothing, with MariaDB XA and the "last agent"
 * shape: every branch but the decision branch is prepared; the decision branch is a local
 * transaction that also inserts the commit record into `twopc_decisions`, and its COMMIT is the
 * commit point. Recovery resolves any branch left prepared from that record (see recovery.ts).
 * Work that touches one node only runs as a plain local transaction.
 */
export class Coordinator {
  constructor(
    private readonly primaryOf: (key: string) => NodePool,
    private readonly metrics: Metrics,
    private readonly options: CoordinatorOptions,
    private readonly hooks: CoordinatorHooks = {},
  ) {}

  /**
   * Runs `work` with branches on `participants` (keys of primaries; the list decides whether a
   * distributed transaction is needed). `decisionKey` names the node holding the decision
   * record; it must be one of `participants`. Retries deadlocks with backoff.
   */
  async run<T>(
    operation: string,
    participants: string[],
    decisionKey: string,
    work: (tx: DistributedTx) => Promise<T>,
  ): Promise<CommitResult<T>> {
    const distributed = new Set(participants).size > 1;
    for (let attempt = 0; ; attempt++) {
      try {
        return distributed
          ? await this.runDistributed(operation, new Set(participants), decisionKey, work)
          : await this.runLocal(operation, participants[0] ?? decisionKey, work);
      } catch (error) {
        if (!isRetryableLockError(error)) throw error;
        // A lock wait timeout has already waited innodb_lock_wait_timeout: retrying it would
        // turn one stuck row (e.g. held by a prepared branch awaiting recovery) into a hang.
        if (errnoOf(error) === ER_LOCK_WAIT_TIMEOUT) {
          throw new ConflictError(operation, 'a row it needs stayed locked past the lock wait timeout', { cause: error });
        }
        if (attempt >= this.options.deadlockRetries) {
          throw new ConflictError(operation, `lock conflict persisted after ${attempt + 1} attempts`, { cause: error });
        }
        this.metrics.deadlockRetries.inc({ operation });
        // Exponential backoff with jitter so two retrying transactions stop colliding.
        await sleep((5 + Math.random() * 20) * 2 ** attempt);
      }
    }
  }

  private async runLocal<T>(operation: string, key: string, work: (tx: DistributedTx) => Promise<T>): Promise<CommitResult<T>> {
    const { value, gtid } = await this.primaryOf(key).transaction(operation, (conn) =>
      work({
        id: undefined,
        branch: async (k) => {
          if (k !== key) throw new Error(`${operation}: branch ${k} is not a participant`);
          return conn;
        },
        prepare: async () => {},
      }),
    );
    return { value, gtids: gtid ? new Map([[key, gtid]]) : new Map() };
  }

  private async runDistributed<T>(
    operation: string,
    participants: Set<string>,
    decisionKey: string,
    work: (tx: DistributedTx) => Promise<T>,
  ): Promise<CommitResult<T>> {
    const gtrid = newGtrid(decisionKey);
    const branches = new Map<string, Branch>();
    const opening = new Map<string, Promise<PooledConnection>>();
    const started = performance.now();
    let phaseStart = started;
    const phase = (name: string) => {
      const now = performance.now();
      this.metrics.twopcPhaseDuration.observe({ operation, phase: name }, (now - phaseStart) / 1000);
      phaseStart = now;
    };

    const openBranch = async (key: string): Promise<PooledConnection> => {
      if (!participants.has(key)) throw new Error(`${operation}: branch ${key} is not a participant`);
      const pool = this.primaryOf(key);
      const conn = await pool.acquire();
      const xa = key !== decisionKey;
      const branch: Branch = { key, pool, conn, xa, bqual: branchQualifier(key, conn.threadId), state: 'active' };
      branches.set(key, branch);
      try {
        await conn.text(xa ? `XA START ${xidLiteral(gtrid, branch.bqual)}` : 'BEGIN');
      } catch (error) {
        branch.state = 'ended';
        conn.broken = true;
        pool.release(conn);
        throw isConnectionLost(error) ? new ShardUnavailableError(pool.label, { cause: error }) : error;
      }
      return conn;
    };
    // XA END + XA PREPARE of one branch, started at most once (early by the work, or below).
    const preparing = new Map<string, Promise<void>>();
    const prepareBranch = (branch: Branch): Promise<void> => {
      let done = preparing.get(branch.key);
      if (!done) {
        done = (async () => {
          await branch.conn.text(`XA END ${xidLiteral(gtrid, branch.bqual)}`);
          branch.state = 'idle';
          await branch.conn.text(`XA PREPARE ${xidLiteral(gtrid, branch.bqual)}`);
          branch.state = 'prepared';
        })();
        preparing.set(branch.key, done);
      }
      return done;
    };
    const tx: DistributedTx = {
      id: gtrid,
      branch: (key) => {
        let conn = opening.get(key);
        if (!conn) {
          conn = openBranch(key);
          opening.set(key, conn);
        }
        return conn;
      },
      prepare: async (key) => {
        await opening.get(key);
        const branch = branches.get(key);
        if (!branch || !branch.xa || branch.state === 'ended') return;
        await prepareBranch(branch);
      },
    };

    let value: T;
    const decisionRecord = 'INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES (?, ?, ?)';
    try {
      value = await work(tx);
      phase('work');
      await tx.branch(decisionKey);
      // Phase one: prepare every XA branch not prepared yet (the work may have prepared some
      // early with tx.prepare), all at once. Everything is settled before looking at failures,
      // so no statement is still in flight on a connection when abortAll ends its branch.
      // The commit record is written only after this, right before the COMMIT: a coordinator
      // frozen between that INSERT and its COMMIT holds the record's row lock, and recovery's
      // fence waits on it, so that window must stay one round trip long.
      await settleAll([...branches.values()].filter((b) => b.xa).map(prepareBranch));
      phase('prepare');
      await this.hooks.onPhase?.('prepared', { gtrid, operation });
    } catch (error) {
      // A branch still being opened or prepared (work failed while another was busy) is
      // waited for, so no statement is in flight when its branch is rolled back.
      await Promise.allSettled([...opening.values(), ...preparing.values()]);
      const unreachable = await this.abortAll(gtrid, branches);
      this.metrics.twopcTransactions.inc({ operation, outcome: 'aborted' });
      // A server (or its connection) died before the commit point: nothing can commit any more
      // (no commit record exists, and recovery fences any branch that did prepare), so the
      // caller gets a typed "unavailable" error rather than the raw driver error.
      // (Fix: the bank test saw raw 'Connection lost' / ECONNRESET errors escape here.)
      if (isConnectionLost(error)) {
        throw new ShardUnavailableError(unreachable[0] ?? `a participant of ${gtrid}`, { cause: error });
      }
      throw error;
    }

    // The commit point: the decision branch commits together with its commit record.
    const decision = branches.get(decisionKey)!;
    let committed: boolean;
    try {
      await decision.conn.exec(decisionRecord, [gtrid, 'commit', operation]);
      await this.hooks.onPhase?.('deciding', { gtrid, operation });
      await decision.conn.text('COMMIT');
      decision.state = 'ended';
      committed = true;
    } catch (error) {
      try {
        committed = await this.settleLostDecision(gtrid, decision, error);
      } catch (unknown) {
        // Outcome unknown: the prepared branches belong to recovery now. Their sessions are
        // closed (never pooled: they cannot run anything until the branch ends), which also
        // detaches the branches so recovery can resolve them without killing a session.
        // (Fix: these connections used to stay borrowed forever, so `db.close()` hung in
        // pool.drain() after a decision node died at 'prepared'.)
        this.detachPrepared(branches);
        this.metrics.twopcTransactions.inc({ operation, outcome: 'unknown' });
        throw unknown;
      }
      if (!committed) {
        await this.abortAll(gtrid, branches);
        this.metrics.twopcTransactions.inc({ operation, outcome: 'aborted' });
        if (isRetryableLockError(error)) throw error;
        throw new ConflictError(operation, `transaction ${gtrid} was aborted before its commit point`, { cause: error });
      }
    }
    phase('decide');
    const gtids = new Map<string, string>();
    const decisionGtid = decision.conn.takeGtid();
    if (decisionGtid) gtids.set(decisionKey, decisionGtid);
    decision.pool.release(decision.conn);
    await this.hooks.onPhase?.('decided', { gtrid, operation });

    // Phase two: commit the prepared branches. A failure leaves the branch to recovery, which
    // finds the commit record; the outcome for the caller is already "committed".
    for (const branch of branches.values()) {
      if (!branch.xa) continue;
      try {
        await branch.conn.text(`XA COMMIT ${xidLiteral(gtrid, branch.bqual)}`);
        branch.state = 'ended';
        const gtid = branch.conn.takeGtid();
        if (gtid) gtids.set(branch.key, gtid);
      } catch {
        branch.conn.broken = true;
      }
      branch.pool.release(branch.conn);
      await this.hooks.onPhase?.('committed_branch', { gtrid, operation, key: branch.key });
    }
    phase('commit');
    this.metrics.twopcPhaseDuration.observe({ operation, phase: 'total' }, (performance.now() - started) / 1000);
    this.metrics.twopcTransactions.inc({ operation, outcome: 'committed' });
    return { value: value!, gtids, transactionId: gtrid };
  }

  /**
   * The commit record or the COMMIT failed. An error the server answered (a duplicate key is
   * recovery's abort record) means it rolled back: aborted. Otherwise the connection may have
   * died around the COMMIT, so the
   * outcome is settled through the same fence recovery uses; if the decision node cannot be
   * reached, the outcome is unknown and recovery will settle it later.
   */
  private async settleLostDecision(gtrid: string, decision: Branch, error: unknown): Promise<boolean> {
    if (!isConnectionLost(error)) {
      if (!decision.conn.broken) await decision.conn.text('ROLLBACK').catch(() => (decision.conn.broken = true));
      decision.pool.release(decision.conn);
      decision.state = 'ended';
      return false;
    }
    decision.conn.broken = true;
    decision.pool.release(decision.conn);
    decision.state = 'ended';
    try {
      return (await resolveDecision(decision.pool, gtrid, 'coordinator')) === 'commit';
    } catch (cause) {
      throw new OutcomeUnknownError(gtrid, { cause: cause instanceof MxoError ? cause : error });
    }
  }

  /** Closes the sessions of prepared branches, leaving the branches to recovery. */
  private detachPrepared(branches: Map<string, Branch>): void {
    for (const branch of branches.values()) {
      if (branch.state === 'ended') continue;
      branch.state = 'ended';
      branch.conn.broken = true;
      branch.pool.release(branch.conn);
    }
  }

  /**
   * Rolls back every open branch; a branch that cannot be reached is left to recovery. Returns
   * the labels of the nodes that could not be reached.
   */
  private async abortAll(gtrid: string, branches: Map<string, Branch>): Promise<string[]> {
    const unreachable: string[] = [];
    for (const branch of branches.values()) {
      if (branch.state === 'ended') continue;
      const xid = xidLiteral(gtrid, branch.bqual);
      try {
        if (!branch.xa) {
          await branch.conn.text('ROLLBACK');
        } else {
          if (branch.state === 'active') await branch.conn.text(`XA END ${xid}`).catch(() => {});
          await branch.conn.text(`XA ROLLBACK ${xid}`);
        }
      } catch {
        // Closing the session rolls back an unprepared branch; a prepared one goes to recovery.
        branch.conn.broken = true;
        unreachable.push(branch.pool.label);
      }
      branch.state = 'ended';
      branch.pool.release(branch.conn);
    }
    return unreachable;
  }
}

/** Waits for every promise to settle, then throws the first rejection (if any). */
async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
