/**
 * Replica repair for two known MariaDB 10.11 defects of user XA with the binary log (found by the
 * bank test; upstream: MDEV-21469 "crash-safe logging of the user XA", MDEV-31921, fixed only by
 * the MDEV-31949/MDEV-33168 series in later versions). Both need a primary killed -9 at an exact
 * moment; the library's own outcome on the primaries is correct in both cases.
 *
 * (A) Crash between the binlog write of XA PREPARE and the engine prepare: the primary forgets
 *     the branch (InnoDB rolls it back at restart), but its replica applied the XA PREPARE and
 *     keeps it prepared forever, holding row locks, so replication stalls on lock waits.
 *     Evidence: the primary's binlog has the XA PREPARE and no XA COMMIT/ROLLBACK for the xid,
 *     and the primary's XA RECOVER does not list it. Repair (runbook): XA ROLLBACK on the replica
 *     with sql_log_bin=0.
 * (B) Crash between the binlog write of XA COMMIT and the engine commit: after restart the branch
 *     is still prepared on the primary, recovery commits it again and the binlog gets a second
 *     XA COMMIT; the replica, which applied the first, stops with 1397 (XAER_NOTA).
 *     Evidence: the same XA COMMIT/ROLLBACK twice in the primary's binlog. Repair: skip that one
 *     event group on the replica.
 *
 * Anything else that keeps a replica from catching up is reported as unexplained (the test fails).
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { Sandbox } from '../../src/index.js';
import { rowsOn, withSql } from './twopc-invariants.js';

const XA_EVENT = /XA (PREPARE|COMMIT|ROLLBACK) (X'[0-9a-f]+',X'[0-9a-f]*',\d+)/i;

export interface RepairReport {
  repaired: string[];
  unexplained: string[];
}

/** XA PREPARE/COMMIT/ROLLBACK events in every binlog file of a primary, by xid literal. */
async function binlogXaEvents(sandbox: Sandbox, primary: string): Promise<Map<string, string[]>> {
  const byXid = new Map<string, string[]>();
  await withSql(sandbox, primary, async (c) => {
    const [logs] = await c.query<RowDataPacket[]>('SHOW BINARY LOGS');
    for (const log of logs) {
      const [events] = await c.query<RowDataPacket[]>(`SHOW BINLOG EVENTS IN ${c.escape(log.Log_name)}`);
      for (const e of events) {
        const m = XA_EVENT.exec(String(e.Info ?? ''));
        if (!m) continue;
        const xid = m[2]!.toLowerCase();
        byXid.set(xid, [...(byXid.get(xid) ?? []), m[1]!.toUpperCase()]);
      }
    }
  });
  return byXid;
}

async function xaRecoverLiterals(sandbox: Sandbox, node: string): Promise<Set<string>> {
  const rows = await rowsOn<{ formatID: number; gtrid_length: number; data: Buffer | string }>(sandbox, node, 'XA RECOVER');
  return new Set(
    rows.map((r) => {
      const data = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data, 'latin1');
      const g = Number(r.gtrid_length);
      return `x'${data.subarray(0, g).toString('hex')}',x'${data.subarray(g).toString('hex')}',${r.formatID}`;
    }),
  );
}

/**
 * Waits for `<shard>-replica-1` to reach its primary; when it cannot, repairs it if (and only if)
 * the cause is defect (A) or (B) above, with the primary's binlog as evidence.
 */
export async function repairReplica(sandbox: Sandbox, shard: string): Promise<RepairReport> {
  const primary = `${shard}-primary`;
  const replica = `${shard}-replica-1`;
  const report: RepairReport = { repaired: [], unexplained: [] };
  const appliedPos = async () => (await rowsOn<{ p: string }>(sandbox, replica, 'SELECT @@GLOBAL.gtid_slave_pos AS p'))[0]!.p;
  let before = await appliedPos();
  for (let round = 0; round < 40; round++) {
    const [{ pos }] = await rowsOn<{ pos: string }>(sandbox, primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const [{ w }] = await rowsOn<{ w: number }>(sandbox, replica, 'SELECT MASTER_GTID_WAIT(?, 3) AS w', [pos]);
    if (Number(w) === 0) return report;
    // Still applying a backlog (e.g. after a skip): keep waiting while it makes progress.
    const now = await appliedPos();
    if (now !== before) {
      before = now;
      continue;
    }
    const [status] = await rowsOn<Record<string, unknown>>(sandbox, replica, 'SHOW SLAVE STATUS');
    const events = await binlogXaEvents(sandbox, primary);
    let acted = false;

    // (B): the replica stopped on an XA COMMIT/ROLLBACK it cannot find.
    const sqlError = String(status?.Last_SQL_Error ?? '');
    const failed = XA_EVENT.exec(sqlError);
    if (status?.Slave_SQL_Running === 'No' && Number(status.Last_SQL_Errno) === 1397 && failed) {
      const xid = failed[2]!.toLowerCase();
      const seen = events.get(xid) ?? [];
      const completions = seen.filter((k) => k !== 'PREPARE').length;
      if (completions >= 2) {
        await withSql(sandbox, replica, async (c) => {
          await c.query('STOP SLAVE SQL_THREAD');
          await c.query('SET GLOBAL sql_slave_skip_counter = 1');
          await c.query('START SLAVE SQL_THREAD');
        });
        report.repaired.push(`(B) ${replica}: skipped duplicate XA ${failed[1]} of ${xid} (primary binlog: ${seen.join(',')})`);
        acted = true;
      } else {
        report.unexplained.push(`${replica} stopped: ${sqlError} (primary binlog for it: ${seen.join(',') || 'nothing'})`);
        return report;
      }
    }

    // (A): prepared on the replica, forgotten by the primary, never completed in its binlog.
    if (!acted) {
      const onPrimary = await xaRecoverLiterals(sandbox, primary);
      for (const xid of await xaRecoverLiterals(sandbox, replica)) {
        const seen = events.get(xid) ?? [];
        if (onPrimary.has(xid) || !seen.includes('PREPARE') || seen.some((k) => k !== 'PREPARE')) continue;
        await withSql(sandbox, replica, async (c) => {
          await c.query('SET SESSION sql_log_bin = 0');
          await c.query(`XA ROLLBACK ${xid}`);
        });
        report.repaired.push(`(A) ${replica}: rolled back orphan prepared ${xid} (primary forgot it; binlog: ${seen.join(',')})`);
        acted = true;
      }
      if (acted && status?.Slave_SQL_Running === 'No') {
        await withSql(sandbox, replica, (c) => c.query('START SLAVE SQL_THREAD'));
      }
    }
    if (!acted) {
      report.unexplained.push(
        `${replica} behind ${pos}: ${JSON.stringify({ io: status?.Slave_IO_Running, sql: status?.Slave_SQL_Running, error: sqlError, ioError: status?.Last_IO_Error })}`,
      );
      return report;
    }
  }
  report.unexplained.push(`${replica} still behind after 40 rounds`);
  return report;
}
