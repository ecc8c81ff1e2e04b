import type { Metrics } from '../metrics/metrics.js';
import { ER_XA_RBROLLBACK, ER_XAER_NOTA, errnoOf } from '../pool/mysql-errors.js';
import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { readDecision, resolveDecision, type Decision } from './decision.js';
import { parseBranchQualifier, parseGtrid, parseRecoverRow, xidLiteral, type XaRecoverRow } from './xid.js';

export interface RecoveryReport {
  committed: string[];
  rolledBack: string[];
  /** Branches left alone: too young, decision node unreachable, or owner still busy. */
  pending: string[];
  /** Primaries that could not be scanned. */
  unreachable: string[];
  /** Decision records deleted because they outlived the retention and nothing refers to them. */
  pruned: number;
}

/**
 * Resolves prepared XA branches left behind by a crash (of a server or of a coordinating
 * process). For each branch on each primary: find the decision where the gtrid says it lives;
 * commit or roll back accordingly; when there is none and the branch is orphaned (its preparing
 * session is gone) or older than the grace period, fence it with an abort record first. Safe to
 * run from several processes at once: the fence decides, and a branch someone else already
 * resolved answers 1397 and is skipped.
 *
 * Decision records are pruned once older than the retention, and only after a sweep that reached
 * every primary and found nothing in doubt: a transaction's branches are all prepared before its
 * decision is written, so a decision no prepared branch anywhere refers to is needed no more.
 */
export class Recovery {
  constructor(
    private readonly primaries: () => Array<{ key: string; pool: NodePool }>,
    private readonly metrics: Metrics,
    private readonly gracePeriodMs: number,
    private readonly decisionRetentionMs: number = 7 * 24 * 3_600_000,
  ) {}

  /** `now` (ms) overrides the clock; by default each node's own clock is used (never this host's). */
  async run(now?: number): Promise<RecoveryReport> {
    const report: RecoveryReport = { committed: [], rolledBack: [], pending: [], unreachable: [], pruned: 0 };
    const primaries = this.primaries();
    const byKey = new Map(primaries.map((p) => [p.key, p.pool]));
    for (const { key, pool } of primaries) {
      try {
        await pool.use('twopc_recover', (conn) => this.recoverNode(conn, key, byKey, now, report));
      } catch {
        report.unreachable.push(key);
      }
    }
    this.metrics.twopcInDoubt.set(report.pending.length);
    if (report.unreachable.length === 0 && report.pending.length === 0) {
      for (const { pool } of primaries) {
        report.pruned += await pool
          .use(
            'twopc_prune',
            async (conn) =>
              (
                await conn.exec('DELETE FROM twopc_decisions WHERE decided_at < NOW(6) - INTERVAL ? SECOND LIMIT 10000', [
                  Math.floor(this.decisionRetentionMs / 1000),
                ])
              ).affectedRows,
          )
          .catch(() => 0);
      }
    }
    return report;
  }

  private async recoverNode(
    conn: PooledConnection,
    key: string,
    byKey: Map<string, NodePool>,
    at: number | undefined,
    report: RecoveryReport,
  ): Promise<void> {
    const prepared = await this.listPrepared(conn);
    if (prepared.length === 0) return;
    const owners = await this.liveSessions(conn);
    // Ages are measured on the database's clock: gtrids are stamped with the decision node's
    // clock (NodePool.serverNow), and the server's start time is its own; this host's clock may differ.
    const now = at ?? owners.now;
    for (const { gtrid, bqual } of prepared) {
      const parsed = parseGtrid(gtrid);
      const label = `${gtrid}@${key}`;
      const decisionPool = parsed && byKey.get(parsed.decisionKey);
      if (!parsed || !decisionPool) {
        report.pending.push(label);
        continue;
      }
      let decision: Decision | undefined;
      try {
        decision = await readDecision(decisionPool, gtrid);
        if (!decision) {
          // A young branch whose preparing session is still connected belongs to a coordinator
          // that is probably still working: leave it alone. An orphaned one (its session is gone,
          // or the server restarted since) is fenced at once. The fence, not the timing, is what
          // keeps this safe: a coordinator that is still alive then fails its commit insert.
          const owner = parseBranchQualifier(bqual);
          const orphaned =
            owners.startedAt > parsed.startedAt + 1_000 ||
            !owner ||
            (!owners.ids.has(owner.threadId) && !(await sessionOfAnotherAccount(conn, owner.threadId)));
          if (!orphaned && now - parsed.startedAt < this.gracePeriodMs) {
            report.pending.push(label);
            continue;
          }
          decision = await resolveDecision(decisionPool, gtrid, 'recovery', {
            takeOverStale: now - parsed.startedAt >= this.gracePeriodMs,
          });
        }
      } catch {
        report.pending.push(label);
        continue;
      }
      // The preparing session can only still own the branch if the server has not restarted
      // since: after a restart, thread ids start again from 1 and the id in the bqual may name an
      // unrelated session, which must never be killed (a 1397 then means that another recovery
      // process is resolving the branch).
      const restarted = owners.startedAt > parsed.startedAt + 1_000;
      const mayKill = !restarted && now - parsed.startedAt >= this.gracePeriodMs;
      const outcome = await this.finish(conn, gtrid, bqual, decision, mayKill);
      if (outcome === 'pending') report.pending.push(label);
      else if (outcome === 'done') {
        (decision === 'commit' ? report.committed : report.rolledBack).push(label);
        this.metrics.twopcRecovered.inc({ action: decision === 'commit' ? 'commit' : 'rollback' });
      }
    }
  }

  /** Applies the decision to one branch; ends a stale owner session when needed. */
  private async finish(
    conn: PooledConnection,
    gtrid: string,
    bqual: string,
    decision: Decision,
    mayKill: boolean,
  ): Promise<'done' | 'pending' | 'gone'> {
    const statement = `XA ${decision === 'commit' ? 'COMMIT' : 'ROLLBACK'} ${xidLiteral(gtrid, bqual)}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await conn.text(statement);
        return 'done';
      } catch (error) {
        const errno = errnoOf(error);
        // A read-only branch has nothing to commit; the server already rolled it back.
        if (errno === ER_XA_RBROLLBACK) return 'done';
        if (errno !== ER_XAER_NOTA) throw error;
        // 1397 also answers while another recoverer is committing the same branch: give it a
        // moment to finish before concluding that a live session owns the branch.
        let stillPrepared = true;
        for (let look = 0; look < 5 && stillPrepared; look++) {
          if (look > 0) await new Promise((r) => setTimeout(r, 20));
          stillPrepared = (await this.listPrepared(conn)).some((x) => x.gtrid === gtrid && x.bqual === bqual);
        }
        if (!stillPrepared) return 'gone'; // resolved by another process meanwhile
        // 1397 while still listed: a live session owns the branch. Once the transaction is past
        // its grace period that session is stale (its coordinator hung): end it and retry.
        const owner = parseBranchQualifier(bqual);
        if (!mayKill || !owner || attempt > 0) return 'pending';
        await conn.text('KILL CONNECTION ?', [owner.threadId]).catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return 'pending';
  }

  /** Ids of the sessions connected now, when the server started and its time now (ms, its own clock). */
  private async liveSessions(conn: PooledConnection): Promise<{ ids: Set<number>; startedAt: number; now: number }> {
    const ids = await conn.rows<{ ID: number }>('SELECT ID FROM information_schema.PROCESSLIST');
    const [row] = await conn.rows<{ started: number | string; now: number | string }>(
      "SELECT (UNIX_TIMESTAMP(NOW(3)) - VARIABLE_VALUE) * 1000 AS started, UNIX_TIMESTAMP(NOW(3)) * 1000 AS now FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'",
    );
    return { ids: new Set(ids.map((r) => Number(r.ID))), startedAt: Number(row?.started ?? 0), now: Number(row?.now ?? Date.now()) };
  }

  private async listPrepared(conn: PooledConnection): Promise<Array<{ gtrid: string; bqual: string }>> {
    const [rows] = await conn.text('XA RECOVER');
    return (rows as XaRecoverRow[]).map(parseRecoverRow).filter((x): x is { gtrid: string; bqual: string } => !!x);
  }
}

const ER_NO_SUCH_THREAD = 1094;
const ER_KILL_DENIED = 1095;

/**
 * Whether a session this account cannot see in PROCESSLIST is alive (another account's: an
 * operator's district move, say). Without PROCESS only the account's own sessions are listed;
 * `KILL QUERY` of another account's session is refused as "not owner" (1095), of a session that is
 * gone as "unknown thread" (1094), and changes nothing in either case.
 */
async function sessionOfAnotherAccount(conn: PooledConnection, threadId: number): Promise<boolean> {
  try {
    await conn.text('KILL QUERY ?', [threadId]);
    return true; // ours after all (opened since the list was read): alive
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (errno === ER_KILL_DENIED) return true;
    if (errno === ER_NO_SUCH_THREAD) return false;
    throw error;
  }
}
