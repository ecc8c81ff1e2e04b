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
    // Plain SELECTs first (consistent reads, no locks): an INSERT ... SELECT would take shared
    // locks on every characters row it counts and stall every player's write meanwhile.
    const [counts] = await conn.rows<{ online: number | string; districts: number | string; combats: number | string }>(
      `SELECT (SELECT COUNT(*) FROM characters WHERE is_online) AS online,
              (SELECT COUNT(DISTINCT district_id) FROM characters WHERE is_online) AS districts,
              (SELECT COUNT(*) FROM combat_encounters WHERE end_time IS NULL) AS combats`,
    );
    await conn.exec(
      `INSERT INTO server_metrics (active_connections, queries_per_second, slow_queries, online_players, active_districts, combat_encounters_active)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [
        status.get('Threads_connected') ?? 0,
        Math.min(999_999.99, (status.get('Queries') ?? 0) / uptime).toFixed(2),
        status.get('Slow_queries') ?? 0,
        Number(counts!.online),
        Number(counts!.districts),
        Number(counts!.combats),
      ],
    );
  });
}
