import type { Metrics } from '../metrics/metrics.js';
import type { NodePool } from '../pool/node-pool.js';

/** The durability settings of one primary, as read from the server. */
export interface NodeDurability {
  node: string;
  syncBinlog?: number;
  flushLogAtTrxCommit?: number;
  /** True when both are 1; undefined when the node could not be asked. */
  durable?: boolean;
  error?: string;
}

/**
 * Checks that every primary (each can hold two-phase-commit decision records) flushes its binlog
 * and redo log at each commit: `sync_binlog=1` and `innodb_flush_log_at_trx_commit=1`. Without
 * them a host crash can lose a commit record whose branches were already committed elsewhere,
 * and recovery would then roll the rest back. Sets `mxo_node_durable` (1 or 0) per node and emits
 * a process warning (code `MXO_UNSAFE_DURABILITY`) for each node that is not durable.
 */
export async function checkDurability(
  primaries: NodePool[],
  metrics: Metrics,
  warn: (message: string) => void = (message) => process.emitWarning(message, { code: 'MXO_UNSAFE_DURABILITY' }),
): Promise<NodeDurability[]> {
  return Promise.all(
    primaries.map(async (pool): Promise<NodeDurability> => {
      const { shard, name } = pool.identity;
      try {
        const [row] = await pool.use('check_durability', (conn) =>
          conn.rows<{ sb: number | string; fl: number | string }>(
            'SELECT @@GLOBAL.sync_binlog AS sb, @@GLOBAL.innodb_flush_log_at_trx_commit AS fl',
          ),
        );
        const syncBinlog = Number(row?.sb);
        const flushLogAtTrxCommit = Number(row?.fl);
        const durable = syncBinlog === 1 && flushLogAtTrxCommit === 1;
        metrics.nodeDurable.set({ shard, node: name }, durable ? 1 : 0);
        if (!durable) {
          warn(
            `mxo-data: primary ${name} has sync_binlog=${syncBinlog} and innodb_flush_log_at_trx_commit=${flushLogAtTrxCommit}; ` +
              'both must be 1 or a crash of that host can lose two-phase-commit decisions (committed on one shard, rolled back on another)',
          );
        }
        return { node: name, syncBinlog, flushLogAtTrxCommit, durable };
      } catch (error) {
        return { node: name, error: (error as Error).message };
      }
    }),
  );
}
