import { ConflictError, ShardUnavailableError } from '../errors.js';
import { ER_DUP_ENTRY, errnoOf, isConnectionLost } from '../pool/mysql-errors.js';
import { READ_COMMITTED_NEXT, type NodePool, type TransactionOptions } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { shardsInLockOrder } from '../routing/lock-order.js';
import { branchQualifier, xidLiteral } from './xid.js';

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
   * On the decision branch it writes the (still uncommitted) commit record now, so only its
   * COMMIT is left once the others are prepared. A no-op for a local transaction and for a
   * branch never opened.
   */
  prepare(key: string): Promise<void>;
  /**
   * True when this attempt takes its row locks without waiting (`FOR UPDATE NOWAIT`) on every
   * branch at once instead of one branch after the other in the global lock order: a lock held
   * by another transaction fails the attempt (ER_LOCK_WAIT_TIMEOUT), and the coordinator runs
   * the work again with this false, in the lock order (see Coordinator.run, `nowaitFirst`).
   */
  readonly nowait: boolean;
}

/** One participant's session and where it stands in the XA state machine. */
export interface Branch {
  key: string;
  pool: NodePool;
  conn: PooledConnection;
  /** XA branch (prepared before the decision) or the local decision branch. */
  xa: boolean;
  bqual: string;
  /** active -> idle (XA END) -> prepared (XA PREPARE) -> ended (committed, rolled back or detached). */
  state: 'active' | 'idle' | 'prepared' | 'ended';
  /** The connection went back to its pool (a connection is released exactly once). */
  released?: boolean;
}

/**
 * The branches of one distributed transaction (docs/design.md, "Cross-shard writes"): every
 * participant but the decision node is an XA branch; the decision node runs a plain local
 * transaction whose COMMIT, together with the commit record, is the commit point. This class
 * only moves branches through their states; {@link Coordinator} decides when.
 */
export class XaTransaction {
  readonly branches = new Map<string, Branch>();
  /** Connections taken before the work (see {@link reserve}), handed to branches as they open. */
  private readonly reserved = new Map<string, PooledConnection>();
  private readonly opening = new Map<string, Promise<PooledConnection>>();
  private readonly preparing = new Map<string, Promise<void>>();
  /** The commit record's INSERT on the decision branch, started at most once (see recordCommit). */
  private recording: Promise<void> | undefined;
  /** What the work function sees. */
  readonly tx: DistributedTx;

  constructor(
    readonly gtrid: string,
    private readonly participants: Set<string>,
    readonly decisionKey: string,
    private readonly primaryOf: (key: string) => NodePool,
    private readonly operation: string,
    nowait = false,
    private readonly options: TransactionOptions = {},
  ) {
    this.tx = {
      id: gtrid,
      nowait,
      branch: (key) => {
        let conn = this.opening.get(key);
        if (!conn) {
          conn = this.open(key);
          this.opening.set(key, conn);
        }
        return conn;
      },
      prepare: async (key) => {
        await this.opening.get(key);
        const branch = this.branches.get(key);
        if (!branch || branch.state === 'ended') return;
        await (branch.xa ? this.prepareBranch(branch) : this.recordCommit());
      },
    };
  }

  /**
   * Takes one connection from every participant's pool before the work runs, one pool after the
   * other in the global lock order. A branch that waited for a connection while holding row locks
   * could stall a whole shard: the transactions queued for its locks hold that shard's
   * connections, and the connection it waits for may be one of them (a cycle through the pools
   * that only the acquire timeout would end). Taken first and in one order, no transaction holds
   * a lock while waiting for a connection, and no two wait for each other's pools.
   */
  async reserve(): Promise<void> {
    for (const key of shardsInLockOrder(this.participants)) {
      this.reserved.set(key, await this.primaryOf(key).acquire());
    }
  }

  /** Gives back the reserved connections no branch used (always safe: nothing ran on them). */
  releaseReserved(): void {
    for (const [key, conn] of this.reserved) this.primaryOf(key).release(conn);
    this.reserved.clear();
  }

  /** The decision branch (opened by {@link prepareAll}). */
  get decision(): Branch {
    return this.branches.get(this.decisionKey)!;
  }

  /**
   * Phase one: opens the decision branch and prepares every XA branch not prepared yet (the
   * work may have prepared some early), all at once. Everything is settled before a failure is
   * thrown, so no statement is still in flight on a connection when {@link abortAll} ends it.
   */
  async prepareAll(): Promise<void> {
    await this.tx.branch(this.decisionKey);
    await settleAll([...this.branches.values()].filter((b) => b.xa).map((b) => this.prepareBranch(b)));
  }

  /**
   * Inserts the commit record (`twopc_decisions`, decision 'commit') on the decision branch,
   * uncommitted: it becomes the decision only with that branch's COMMIT, which the coordinator
   * sends once every XA branch is prepared; a rollback removes it. Written as soon as the work on
   * the decision branch is done (beside the other branches' XA PREPARE), so the commit point
   * costs one round trip after the last prepare. A recoverer's fence that meets the uncommitted
   * row waits on its lock: it only fences prepared branches that are orphaned or past the grace
   * period, and ends a stale holder by `holder_thread` (decision.ts).
   */
  recordCommit(): Promise<void> {
    if (!this.recording) {
      this.recording = (async () => {
        const conn = await this.tx.branch(this.decisionKey);
        try {
          await conn.exec('INSERT INTO twopc_decisions (gtrid, decision, operation, holder_thread) VALUES (?, ?, ?, ?)', [
            this.gtrid,
            'commit',
            this.operation,
            conn.threadId,
          ]);
        } catch (error) {
          // The gtrid's row exists already: recovery fenced this transaction (its abort record,
          // e.g. after a failover), so it can never commit. A typed refusal, not the driver's.
          if (errnoOf(error) === ER_DUP_ENTRY)
            throw new ConflictError(this.operation, `transaction ${this.gtrid} was aborted by recovery before its commit point`, {
              cause: error,
            });
          throw error;
        }
      })();
    }
    return this.recording;
  }

  /** Waits until no branch is still being opened or prepared (the work failed while one was busy). */
  async quiesce(): Promise<void> {
    await Promise.allSettled([...this.opening.values(), ...this.preparing.values(), ...(this.recording ? [this.recording] : [])]);
  }

  /**
   * Rolls back every open branch; a branch that cannot be reached is left to recovery. Returns
   * the labels of the nodes that could not be reached.
   */
  async abortAll(): Promise<string[]> {
    const unreachable: string[] = [];
    for (const branch of this.branches.values()) {
      if (branch.state === 'ended') continue;
      const xid = xidLiteral(this.gtrid, branch.bqual);
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
      this.end(branch);
    }
    return unreachable;
  }

  /**
   * Closes the sessions of prepared branches, leaving the branches to recovery. They are never
   * pooled: a session holding a prepared branch cannot run anything until the branch ends, and
   * closing it detaches the branch so recovery can resolve it without killing a session.
   */
  detachPrepared(): void {
    for (const branch of this.branches.values()) {
      if (branch.state === 'ended') continue;
      branch.conn.broken = true;
      this.end(branch);
    }
  }

  /**
   * Phase two: commits one prepared branch. A failure leaves it to recovery, which finds the
   * commit record; the outcome for the caller is already "committed". Returns its GTID.
   */
  async commitBranch(branch: Branch): Promise<string | undefined> {
    let gtid: string | undefined;
    try {
      await branch.conn.text(`XA COMMIT ${xidLiteral(this.gtrid, branch.bqual)}`);
      gtid = branch.conn.takeGtid();
    } catch {
      branch.conn.broken = true;
    }
    this.end(branch);
    return gtid;
  }

  /** Marks a branch ended and gives its connection back (a broken one is destroyed), once. */
  end(branch: Branch): void {
    if (branch.released) return;
    branch.state = 'ended';
    branch.released = true;
    branch.pool.release(branch.conn);
  }

  private async open(key: string): Promise<PooledConnection> {
    if (!this.participants.has(key)) throw new Error(`${this.operation}: branch ${key} is not a participant`);
    const pool = this.primaryOf(key);
    const conn = this.reserved.get(key) ?? (await pool.acquire());
    this.reserved.delete(key);
    const xa = key !== this.decisionKey;
    const branch: Branch = { key, pool, conn, xa, bqual: branchQualifier(key, conn.threadId), state: 'active' };
    this.branches.set(key, branch);
    try {
      if (this.options.readCommitted) await conn.text(READ_COMMITTED_NEXT);
      await conn.text(xa ? `XA START ${xidLiteral(this.gtrid, branch.bqual)}` : 'BEGIN');
    } catch (error) {
      conn.broken = true;
      this.end(branch);
      throw isConnectionLost(error) ? new ShardUnavailableError(pool.label, { cause: error }) : error;
    }
    return conn;
  }

  /** XA END + XA PREPARE of one branch, started at most once (early by the work, or in prepareAll). */
  private prepareBranch(branch: Branch): Promise<void> {
    let done = this.preparing.get(branch.key);
    if (!done) {
      done = (async () => {
        const xid = xidLiteral(this.gtrid, branch.bqual);
        await branch.conn.text(`XA END ${xid}`);
        branch.state = 'idle';
        await branch.conn.text(`XA PREPARE ${xid}`);
        branch.state = 'prepared';
      })();
      this.preparing.set(branch.key, done);
    }
    return done;
  }
}

/** Waits for every promise to settle, then throws the first rejection (if any). */
export async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
