import type { NodePool } from '../pool/node-pool.js';

/**
 * One `server_metrics` row for a shard: connections, queries per second and slow queries from
 * the server's status (queries per second averaged since the server started), online players and
 * active districts from `characters`, open combat encounters. Prometheus stays the live view;
 * this is the seed's history table for reports.
 */
export async function snapshotServerMetrics(primary: NodePool): Promise<void> {
  await primary.use('maintenance_server_metrics', async (conn) => {
    const status = new Map(
      (
        await conn.rows<{ Variable_name: string; Value: string }>(
          "SHOW GLOBAL STATUS WHERE Variable_name IN ('Queries', 'Uptime', 'Slow_queries', 'Threads_connected')",
        )
      ).map((r) => [r.Variable_name, Number(r.Value)]),
    );
    const uptime = Math.max(1, status.get('Uptime') ?? 1);
    await conn.exec(
      `INSERT INTO server_metrics (active_connections, queries_per_second, slow_queries, online_players, active_districts, combat_encounters_active)
       SELECT ?, ?, ?,
              (SELECT COUNT(*) FROM characters WHERE is_online),
              (SELECT COUNT(DISTINCT district_id) FROM characters WHERE is_online),
              (SELECT COUNT(*) FROM combat_encounters WHERE end_time IS NULL)`,
      [
        status.get('Threads_connected') ?? 0,
        Math.min(999_999.99, (status.get('Queries') ?? 0) / uptime).toFixed(2),
        status.get('Slow_queries') ?? 0,
      ],
    );
  });
}
