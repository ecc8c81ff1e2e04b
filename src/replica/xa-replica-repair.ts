import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { ER_XAER_NOTA, errnoOf } from '../pool/mysql-errors.js';

/**
 * Repair of replicas broken by two MariaDB 10.11 user-XA crash defects (upstream MDEV-21469,
 * MDEV-31921; fixed only in later series). Both need a primary killed -9 at an exact moment; the
 * primaries' own outcome stays correct (the two-phase-commit tests prove it), only a replica can
 * be left stuck:
 *
 * (A) killed between the binlog write of XA PREPARE and the engine prepare: the primary forgets
 *     the branch (rolled back at restart) but its replica applied the XA PREPARE and keeps it
 *     prepared forever, holding row locks, so replication stalls. Evidence: the primary's binlog
 *     has the XA PREPARE and no completion, and the primary does not list the xid any more.
 *     Repair: XA ROLLBACK on the replica, not binlogged.
 * (B) killed between the binlog write of XA COMMIT and the engine commit: the branch is still
 *     prepared after restart, recovery completes it again and the binlog gets a second XA COMMIT;
 *     the replica, which applied the first, stops with 1397 (XAER_NOTA). Evidence: the same xid
 *     completed twice in the primary's binlog. Repair: skip that one event group on the replica.
 * (C) seen in CI after kill -9 of primaries under cross-shard trades: a branch's completion
 *     (XA ROLLBACK/COMMIT) reaches the binlog after a transaction that took the rows it held, so
 *     the replica's applier waits on rows its own prepared copy of the branch holds, retrying lock
 *     timeouts for ever. Evidence: the applier sits in one row event, the replica holds the branch
 *     prepared, the primary does not, and its binlog has the completion. Repair: apply that
 *     completion on the replica now, not binlogged, and skip its event when the applier reaches it.
 *
 * Only what the primary's binlog proves is repaired; anything else that keeps a replica behind is
 * reported as unexplained for an operator. Scanning the binlog is expensive on a large server:
 * this is an operator command (`mxo-data repair-replicas`), not something to run on a timer.
 */
export interface ReplicaRepairReport {
  replica: string;
  repaired: string[];
  unexplained: string[];
}

const XA_EVENT = /XA (PREPARE|COMMIT|ROLLBACK) (X'[0-9a-f]+',X'[0-9a-f]*',\d+)/i;

export async function repairXaReplica(
  primary: NodePool,
  replica: NodePool,
  options: { rounds?: number; waitSeconds?: number } = {},
): Promise<ReplicaRepairReport> {
  const report: ReplicaRepairReport = { replica: replica.identity.name, repaired: [], unexplained: [] };
  const rounds = options.rounds ?? 40;
  const waitSeconds = options.waitSeconds ?? 3;
  const applied = () => scalar<string>(replica, 'SELECT @@GLOBAL.gtid_slave_pos');
  const started = await applied();
  let before = started;
  let target: string | undefined;
  // Rounds without progress are what the limit counts: a replica working through a backlog on a
  // busy machine keeps going (up to `rounds` more rounds of waiting after its last progress),
  // within five times that in all.
  for (let stalled = 0, round = 0; stalled < rounds && round < rounds * 5; round++) {
    target = await scalar<string>(primary, 'SELECT @@GLOBAL.gtid_binlog_pos');
    if (!target) return report;
    const waited = await scalar<number | null>(replica, 'SELECT MASTER_GTID_WAIT(?, ?)', [target, waitSeconds]);
    if (waited !== null && Number(waited) === 0) return report;
    const now = await applied();
    if (now !== before) {
      before = now;
      stalled = 0;
      continue;
    }
    stalled++;
    const [status] = await replica.use('repair_status', (c) => c.rows<Record<string, unknown>>('SHOW SLAVE STATUS'));
    // The primary's prepared list is read before its binlog: a branch completed in between then
    // still shows as prepared here, instead of as "forgotten, never completed".
    const onPrimary = await preparedXids(primary);
    // The primary's binlog is read only when a branch needs explaining: reading every binlog file
    // holds up the primary's commits, and a slow but healthy replica needs none of it.
    let events: Map<string, string[]> | undefined;
    const binlog = async () => (events ??= await binlogXaEvents(primary));
    const sqlError = String(status?.Last_SQL_Error ?? '');
    const failed = XA_EVENT.exec(sqlError);
    let acted = false;

    if (status?.Slave_SQL_Running === 'No' && Number(status.Last_SQL_Errno) === 1397 && failed) {
      const xid = failed[2]!.toLowerCase();
      const seen = (await binlog()).get(xid) ?? [];
      const ahead = resolvedAhead(replica).has(xid);
      if (ahead) {
        // (C)'s sequel: the outcome this replica was given ahead of its turn, now reached.
        await skipOneEvent(replica);
        resolvedAhead(replica).delete(xid);
        report.repaired.push(`(C) skipped XA ${failed[1]} of ${xid}, applied ahead earlier`);
        continue;
      }
      if (seen.filter((k) => k !== 'PREPARE').length < 2) {
        report.unexplained.push(`stopped: ${sqlError} (primary binlog for it: ${seen.join(',') || 'nothing'})`);
        return report;
      }
      await skipOneEvent(replica);
      report.repaired.push(`(B) skipped duplicate XA ${failed[1]} of ${xid} (primary binlog: ${seen.join(',')})`);
      acted = true;
    } else {
      for (const xid of await preparedXids(replica)) {
        if (onPrimary.has(xid)) continue;
        const seen = (await binlog()).get(xid) ?? [];
        if (!seen.includes('PREPARE') || seen.some((k) => k !== 'PREPARE')) continue;
        if (!(await resolveHere(replica, `XA ROLLBACK ${xid}`))) continue;
        report.repaired.push(`(A) rolled back orphan prepared ${xid} (primary forgot it; binlog: ${seen.join(',')})`);
        acted = true;
      }
      if (acted && status?.Slave_SQL_Running === 'No') await admin(replica, (c) => c.text('START SLAVE SQL_THREAD'));
      if (!acted && stalled >= 2 && (await applierWaitsOnARow(replica, waitSeconds))) {
        // (C) The applier waits on a row held by a branch prepared here whose outcome the primary
        // logged only after the transaction now waiting (seen in CI: the primary released the
        // branch's locks before binlogging its XA ROLLBACK/COMMIT, so the replica receives the two
        // in the opposite order and waits out lock timeouts for ever). Apply that outcome now, as
        // the primary did, and skip its event when the applier reaches it (1397 above).
        for (const xid of await preparedXids(replica)) {
          if (onPrimary.has(xid)) continue;
          const seen = (await binlog()).get(xid) ?? [];
          const outcome = seen.find((k) => k === 'COMMIT' || k === 'ROLLBACK');
          if (!seen.includes('PREPARE') || !outcome) continue;
          if (!(await resolveHere(replica, `XA ${outcome} ${xid}`))) continue;
          resolvedAhead(replica).add(xid);
          report.repaired.push(
            `(C) applied XA ${outcome} of ${xid} ahead: the applier waited on its rows (primary binlog: ${seen.join(',')})`,
          );
          acted = true;
        }
      }
    }
    // Both threads running and no error: slow (a busy machine, an applier waiting out a lock), not
    // stuck by a defect. Keep waiting; the rounds bound it.
    const running = status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes' && !sqlError;
    if (!acted && running) continue;
    if (!acted) {
      report.unexplained.push(
        `behind ${target}: ${JSON.stringify({ io: status?.Slave_IO_Running, sql: status?.Slave_SQL_Running, error: sqlError, ioError: status?.Last_IO_Error })}`,
      );
      return report;
    }
  }
  report.unexplained.push(
    `still behind after ${rounds} rounds without progress (or ${rounds * 5} in all): ${await stallDetails(replica, started, before, target)}`,
  );
  return report;
}

/** What a replica that stopped making progress is doing, for the report (and the operator). */
async function stallDetails(replica: NodePool, started: string, applied: string, target: string | undefined): Promise<string> {
  try {
    const { status, threads } = await replica.use('repair_status', async (c) => ({
      status: (await c.rows<Record<string, unknown>>('SHOW SLAVE STATUS'))[0],
      threads: await applierThreads(c),
    }));
    return JSON.stringify({
      applied: { started, now: applied },
      target,
      sqlState: status?.Slave_SQL_Running_State,
      secondsBehind: status?.Seconds_Behind_Master,
      threads: threads.map((t) => `${t.state ?? ''} (${t.time}s)${t.info ? `: ${t.info}` : ''}`),
      preparedOnReplica: (await preparedXids(replica)).size,
    });
  } catch (error) {
    return `(status unavailable: ${(error as Error).message})`;
  }
}

/**
 * A cheap check for the defects' symptoms: the replica's SQL thread stopped on 1397, or it holds
 * one of our prepared branches that its primary does not. Either may be transient (a branch in
 * flight); {@link repairXaReplica} waits and checks the binlog before acting.
 */
export async function replicaLooksStuck(primary: NodePool, replica: NodePool): Promise<boolean> {
  const [status] = await replica.use('repair_status', (c) => c.rows<Record<string, unknown>>('SHOW SLAVE STATUS'));
  if (status?.Slave_SQL_Running === 'No' && Number(status.Last_SQL_Errno) === 1397) return true;
  const onReplica = await preparedXids(replica);
  if (onReplica.size === 0) return false;
  const onPrimary = await preparedXids(primary);
  return [...onReplica].some((xid) => !onPrimary.has(xid));
}

async function scalar<T>(pool: NodePool, sql: string, params: unknown[] = []): Promise<T> {
  return pool.use('repair_probe', async (c) => Object.values((await c.rows<Record<string, unknown>>(sql, params))[0] ?? {})[0] as T);
}

/** Runs admin statements on a connection that is then discarded (session settings must not leak). */
/** Per replica, the branches given their outcome ahead of the applier (case C), until it reaches them. */
const AHEAD = new WeakMap<NodePool, Set<string>>();
function resolvedAhead(replica: NodePool): Set<string> {
  let set = AHEAD.get(replica);
  if (!set) AHEAD.set(replica, (set = new Set()));
  return set;
}

/** True when the replica's SQL thread has been applying one row event for `seconds` or more (a lock wait). */
async function applierWaitsOnARow(replica: NodePool, seconds: number): Promise<boolean> {
  const threads = await replica.use('repair_status', applierThreads);
  return threads.some((t) => /_rows_log_event::/i.test(t.state ?? '') && Number(t.time) >= seconds);
}

/** The replication threads (I/O and SQL) and what each is doing. */
function applierThreads(c: PooledConnection): Promise<Array<{ state: string | null; info: string | null; time: number }>> {
  return c.rows(
    "SELECT STATE AS state, LEFT(INFO, 120) AS info, TIME AS time FROM information_schema.PROCESSLIST WHERE USER = 'system user'",
  );
}

/** Skips the event group the SQL thread stopped on. */
function skipOneEvent(replica: NodePool): Promise<void> {
  return admin(replica, async (c) => {
    await c.text('STOP SLAVE SQL_THREAD');
    await c.text('SET GLOBAL sql_slave_skip_counter = 1');
    await c.text('START SLAVE SQL_THREAD');
  });
}

/**
 * Ends a branch prepared on the replica, without binlogging it there. False when the branch is
 * gone already (1397): the applier reached its outcome between the look and this statement.
 */
async function resolveHere(replica: NodePool, statement: string): Promise<boolean> {
  try {
    await admin(replica, async (c) => {
      await c.text('SET SESSION sql_log_bin = 0');
      await c.text(statement);
    });
    return true;
  } catch (error) {
    if (errnoOf(error) === ER_XAER_NOTA) return false;
    throw error;
  }
}

async function admin(pool: NodePool, fn: (c: PooledConnection) => Promise<unknown>): Promise<void> {
  await pool.use('repair_admin', async (c) => {
    c.broken = true;
    await fn(c);
  });
}

/** XA PREPARE/COMMIT/ROLLBACK events in every binlog file of a primary, by xid literal. */
async function binlogXaEvents(primary: NodePool): Promise<Map<string, string[]>> {
  return primary.use('repair_binlog', async (c) => {
    const byXid = new Map<string, string[]>();
    const [logs] = await c.text('SHOW BINARY LOGS');
    for (const log of logs as Array<{ Log_name: string }>) {
      const [events] = await c.text('SHOW BINLOG EVENTS IN ?', [log.Log_name]);
      for (const e of events as Array<{ Info?: string }>) {
        const m = XA_EVENT.exec(String(e.Info ?? ''));
        if (!m) continue;
        const xid = m[2]!.toLowerCase();
        byXid.set(xid, [...(byXid.get(xid) ?? []), m[1]!.toUpperCase()]);
      }
    }
    return byXid;
  });
}

async function preparedXids(pool: NodePool): Promise<Set<string>> {
  return pool.use('repair_xa_recover', async (c) => {
    const [rows] = await c.text('XA RECOVER');
    return new Set(
      (rows as Array<{ formatID: number; gtrid_length: number; data: Buffer | string }>).map((r) => {
        const data = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data, 'latin1');
        const g = Number(r.gtrid_length);
        return `x'${data.subarray(0, g).toString('hex')}',x'${data.subarray(g).toString('hex')}',${r.formatID}`;
      }),
    );
  });
}
