import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { logTables } from '../schema/table-registry.js';

/** The partitioned log tables, from the table registry (docs/design.md, "What the seed gets wrong"). */
const LOG_TABLES = logTables();

/**
 * Keeps monthly partitions ready `monthsAhead` months past `now` on one shard primary (splitting
 * them off the catch-all `p_future`), then archives log rows older than 90 days with the seed's
 * `RotateLogTables()`. Returns the partitions added (`table.p_YYYYMM`). The DDL runs inside the
 * `EnsureLogPartitions` procedure (definer's rights: the migrating account), so the application
 * account needs EXECUTE only, never ALTER or DROP on the log tables (the audit trail). DDL waits at
 * most 10 s for a metadata lock (a prepared XA branch holds one until recovery settles it).
 */
export async function rollLogPartitions(primary: NodePool, now: Date, monthsAhead: number): Promise<string[]> {
  return primary.use('maintenance_partitions', async (conn) => {
    conn.broken = true; // session settings below must not leak into the pool
    await conn.text('SET SESSION lock_wait_timeout = 10');
    const before = new Set(await partitions(conn));
    // The procedure counts from the server's month; `now` (the cluster's clock) may differ.
    const [row] = await conn.rows<{ y: number; m: number }>('SELECT YEAR(NOW()) AS y, MONTH(NOW()) AS m');
    const serverMonths = Number(row!.y) * 12 + Number(row!.m) - 1;
    const ahead = Math.max(0, now.getUTCFullYear() * 12 + now.getUTCMonth() - serverMonths + monthsAhead);
    await conn.text('CALL EnsureLogPartitions(?)', [ahead]);
    const added = (await partitions(conn)).filter((p) => !before.has(p));
    await conn.text('CALL RotateLogTables()');
    return added;
  });
}

/** `table.p_YYYYMM` of every monthly partition of the log tables. */
async function partitions(conn: PooledConnection): Promise<string[]> {
  const rows = await conn.rows<{ t: string; p: string }>(
    `SELECT TABLE_NAME AS t, PARTITION_NAME AS p FROM information_schema.PARTITIONS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${LOG_TABLES.map(() => '?').join(', ')})
        AND PARTITION_NAME <> 'p_future' ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION`,
    LOG_TABLES.map((t) => t.table),
  );
  return rows.map((r) => `${r.t}.${r.p}`);
}
