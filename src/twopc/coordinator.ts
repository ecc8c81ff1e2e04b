import { ConflictError, MxoError, OutcomeUnknownError, ShardUnavailableError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { ER_LOCK_WAIT_TIMEOUT, errnoOf, isConnectionLost, isRetryableLockError } from '../pool/mysql-errors.js';
import type { NodePool, TransactionOptions } from '../pool/node-pool.js';
import { resolveDecision } from './decision.js';
import { XaTransaction, type DistributedTx } from './xa-transaction.js';
import { newGtrid } from './xid.js';

/** Points where a test can stop the coordinating process (fault injection). */
export type CoordinatorPhase = 'prepared' | 'deciding' | 'decided' | 'committed_branch';

export interface CoordinatorHooks {
  /** Called after each phase; a test may kill the process here. */
  onPhase?: (phase: CoordinatorPhase, info: { gtrid: string; operation: string; key?: string }) => void | Promise<void>;
}

export interface CoordinatorOptions {
  deadlockRetries: number;
}

export type { DistributedTx } from './xa-transaction.js';

export interface CommitResult<T> {
  value: T;
  /** GTID of each branch's commit, by key, for read-your-writes. */
  gtids: Map<string, string>;
  /** The XA transaction id when more than one node took part. */
  transactionId?: string;
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
   *
   * With `nowaitFirst`, a distributed transaction's first attempt runs with `tx.nowait`: the work
   * locks every branch's rows at once with NOWAIT. Such an attempt never waits for a lock, so it
   * can be part of no wait cycle across servers (which no server would detect); when a lock is
   * taken (ER_LOCK_WAIT_TIMEOUT at once) every branch rolls back and the work runs again in the
   * global lock order, waiting. The work must take every lock another transaction may hold with
   * NOWAIT while `tx.nowait` is set.
   */
  async run<T>(
    operation: string,
    participants: string[],
    decisionKey: string,
    work: (tx: DistributedTx) => Promise<T>,
    options: { nowaitFirst?: boolean } & TransactionOptions = {},
  ): Promise<CommitResult<T>> {
    const distributed = new Set(participants).size > 1;
    let nowait = distributed && options.nowaitFirst === true;
    for (let attempt = 0; ; attempt++) {
      try {
        return distributed
          ? await this.runDistributed(operation, new Set(participants), decisionKey, work, nowait, options)
          : await this.runLocal(operation, participants[0] ?? decisionKey, work, options);
      } catch (error) {
        if (!isRetryableLockError(error)) throw error;
        if (nowait) {
          // A row was locked by another transaction: again at once, in the global lock order
          // (waiting), which does not count against the deadlock retries.
          nowait = false;
          attempt--;
          this.metrics.lockNowaitFallbacks.inc({ operation });
          continue;
        }
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

  private async runLocal<T>(
    operation: string,
    key: string,
    work: (tx: DistributedTx) => Promise<T>,
    options: TransactionOptions,
  ): Promise<CommitResult<T>> {
    const { value, gtid } = await this.primaryOf(key).transaction(
      operation,
      (conn) =>
        work({
          id: undefined,
          nowait: false,
          branch: async (k) => {
            if (k !== key) throw new Error(`${operation}: branch ${k} is not a participant`);
            return conn;
          },
          prepare: async () => {},
        }),
      options,
    );
    return { value, gtids: gtid ? new Map([[key, gtid]]) : new Map() };
  }

  private async runDistributed<T>(
    operation: string,
    participants: Set<string>,
    decisionKey: string,
    work: (tx: DistributedTx) => Promise<T>,
    nowait: boolean,
    options: TransactionOptions,
  ): Promise<CommitResult<T>> {
    const gtrid = newGtrid(decisionKey, this.primaryOf(decisionKey).serverNow());
    const xa = new XaTransaction(gtrid, participants, decisionKey, this.primaryOf, operation, nowait, options);
    try {
      return await this.drive(xa, operation, work);
    } finally {
      xa.releaseReserved();
    }
  }

  /** Work, prepare, decide, commit: one attempt of a distributed transaction. */
  private async drive<T>(xa: XaTransaction, operation: string, work: (tx: DistributedTx) => Promise<T>): Promise<CommitResult<T>> {
    const { gtrid, decisionKey } = xa;
    const started = performance.now();
    let phaseStart = started;
    const phase = (name: string) => {
      const now = performance.now();
      this.metrics.twopcPhaseDuration.observe({ operation, phase: name }, (now - phaseStart) / 1000);
      phaseStart = now;
    };

    let value: T;
    try {
      await xa.reserve();
      value = await work(xa.tx);
      phase('work');
      // The commit record may already be inserted (uncommitted) on the decision branch: the
      // work calls tx.prepare(decisionKey) when its part there is done. It commits only below,
      // after every XA branch is prepared. A recoverer's fence waits on its row lock until this
      // coordinator commits or rolls back, and ends the holder's session past the grace period.
      await xa.prepareAll();
      phase('prepare');
      await this.hooks.onPhase?.('prepared', { gtrid, operation });
    } catch (error) {
      await xa.quiesce();
      const unreachable = await xa.abortAll();
      this.metrics.twopcTransactions.inc({ operation, outcome: 'aborted' });
      // A server (or its connection) died before the commit point: nothing can commit any more
      // (no commit record exists, and recovery fences any branch that did prepare), so the
      // caller gets a typed "unavailable" error rather than the raw driver error.
      if (isConnectionLost(error)) {
        throw new ShardUnavailableError(unreachable[0] ?? `a participant of ${gtrid}`, { cause: error });
      }
      throw error;
    }

    await this.decide(xa, operation);
    phase('decide');
    const gtids = new Map<string, string>();
    const decision = xa.decision;
    const decisionGtid = decision.conn.takeGtid();
    if (decisionGtid) gtids.set(decisionKey, decisionGtid);
    xa.end(decision);
    await this.hooks.onPhase?.('decided', { gtrid, operation });

    for (const branch of xa.branches.values()) {
      if (!branch.xa) continue;
      const gtid = await xa.commitBranch(branch);
      if (gtid) gtids.set(branch.key, gtid);
      await this.hooks.onPhase?.('committed_branch', { gtrid, operation, key: branch.key });
    }
    phase('commit');
    this.metrics.twopcPhaseDuration.observe({ operation, phase: 'total' }, (performance.now() - started) / 1000);
    this.metrics.twopcTransactions.inc({ operation, outcome: 'committed' });
    return { value: value!, gtids, transactionId: gtrid };
  }

  /**
   * The commit point: the decision branch commits together with its commit record. Returns when
   * committed (the decision branch still holds its connection); throws when aborted (a typed
   * error, or the lock error to retry) or when the outcome is unknown.
   */
  private async decide(xa: XaTransaction, operation: string): Promise<void> {
    const decision = xa.decision;
    try {
      // holder_thread: a recoverer that finds this record locked ends this session by it (decision.ts).
      // Usually written already, beside the other branches' prepare (XaTransaction.recordCommit).
      await xa.recordCommit();
      await this.hooks.onPhase?.('deciding', { gtrid: xa.gtrid, operation });
      await decision.conn.text('COMMIT');
      return;
    } catch (error) {
      let committed: boolean;
      try {
        committed = await this.settleLostDecision(xa, error);
      } catch (unknown) {
        // Outcome unknown: the prepared branches belong to recovery now. (Fix: their
        // connections used to stay borrowed forever, so `db.close()` hung in pool.drain().)
        xa.detachPrepared();
        this.metrics.twopcTransactions.inc({ operation, outcome: 'unknown' });
        throw unknown;
      }
      if (committed) {
        // Settled as committed through the fence; the decision connection is already released.
        decision.conn.takeGtid();
        return;
      }
      await xa.abortAll();
      this.metrics.twopcTransactions.inc({ operation, outcome: 'aborted' });
      if (isRetryableLockError(error)) throw error;
      throw new ConflictError(operation, `transaction ${xa.gtrid} was aborted before its commit point`, { cause: error });
    }
  }

  /**
   * The commit record or the COMMIT failed. An error the server answered (a duplicate key is
   * recovery's abort record) means it rolled back: aborted. Otherwise the connection may have
   * died around the COMMIT, so the outcome is settled through the same fence recovery uses; if
   * the decision node cannot be reached, the outcome is unknown and recovery will settle it later.
   */
  private async settleLostDecision(xa: XaTransaction, error: unknown): Promise<boolean> {
    const decision = xa.decision;
    if (!isConnectionLost(error)) {
      if (!decision.conn.broken) await decision.conn.text('ROLLBACK').catch(() => (decision.conn.broken = true));
      xa.end(decision);
      return false;
    }
    decision.conn.broken = true;
    xa.end(decision);
    try {
      return (await resolveDecision(decision.pool, xa.gtrid, 'coordinator')) === 'commit';
    } catch (cause) {
      throw new OutcomeUnknownError(xa.gtrid, { cause: cause instanceof MxoError ? cause : error });
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
