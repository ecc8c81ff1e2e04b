import type { NodePool } from '../pool/node-pool.js';
import type { Metrics } from './metrics.js';

/** Sets `mxo_pool_connections` (idle, in use, pending) for every pool; run at scrape time. */
export function collectPoolStats(metrics: Metrics, pools: NodePool[]): void {
  const gauge = metrics.poolConnections;
  for (const pool of pools) {
    const { shard, role, name } = pool.identity;
    const stats = pool.stats();
    gauge.set({ shard, role, node: name, state: 'idle' }, stats.idle);
    gauge.set({ shard, role, node: name, state: 'in_use' }, stats.inUse);
    gauge.set({ shard, role, node: name, state: 'pending' }, stats.pending);
  }
}
