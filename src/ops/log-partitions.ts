import type { NodePool } from '../pool/node-pool.js';
import { logTables } from '../schema/table-registry.js';

/** The partitioned log tables and their partition column, from the table registry (docs/design.md, "What the seed gets wrong"). */
const LOG_TABLES = logTables();

/**
 * Keeps monthly partitions ready `monthsAhead` months past `now` on one shard primary (splitting
 * them off the catch-all `p_future`), then archives log rows older than 90 days with the seed's
 * `RotateLogTables()`. Returns the partitions added (`table.p_YYYYMM`). DDL waits at most 10 s
 * for a metadata lock (a prepared XA branch holds one until recovery settles it).
 */
export async function rollLogPartitions(primary: NodePool, now: Date, monthsAhead: number): Promise<string[]> {
  return primary.use('maintenance_partitions', async (conn) => {
    conn.broken = true; // session settings below must not leak into the pool
    await conn.text('SET SESSION lock_wait_timeout = 10');
    const target = monthStart(now, monthsAhead + 1);
    const added: string[] = [];
    for (const { table } of LOG_TABLES) {
      const parts = await conn.rows<{ name: string; bound: string }>(
        `SELECT PARTITION_NAME AS name, PARTITION_DESCRIPTION AS bound FROM information_schema.PARTITIONS
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION`,
        [table],
      );
      const bounds = parts.filter((p) => p.bound !== 'MAXVALUE').map((p) => p.bound.replace(/'/g, ''));
      if (bounds.length === 0 || !parts.some((p) => p.name === 'p_future')) continue;
      let from = new Date(`${bounds[bounds.length - 1]}T00:00:00Z`);
      const months: string[] = [];
      while (from < target) {
        const next = monthStart(from, 1);
        months.push(`PARTITION p_${isoDate(from).slice(0, 7).replace('-', '')} VALUES LESS THAN ('${isoDate(next)}')`);
        from = next;
      }
      if (months.length === 0) continue;
      // Names and bounds are built from dates above, never from input.
      await conn.text(
        `ALTER TABLE \`${table}\` REORGANIZE PARTITION p_future INTO (${months.join(', ')}, PARTITION p_future VALUES LESS THAN (MAXVALUE))`,
      );
      added.push(...months.map((m) => `${table}.${m.split(' ')[1]}`));
    }
    await conn.text('CALL RotateLogTables()');
    return added;
  });
}

/** The first day (UTC) of the month `plus` months after `date`'s month. */
function monthStart(date: Date, plus: number): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + plus, 1));
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
