import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LocalHistogram } from './local-histogram.js';
import { Tally } from './tally.js';

/**
 * Every metric family mxo-data exports. Labels are bounded by the config (shard, role, node),
 * by code (operation, outcome, phase, reason) or by content (district): never a character id
 * or SQL text, so the number of series does not grow with the number of players.
 */
export interface Metrics {
  registry: Registry;
  /** Run at every scrape, before the pool gauge is read: they refresh scrape-time gauges. */
  collectors: Set<() => void>;
  /**
   * A hot-path counter series (`queries`, `reads` children) counted as a plain number and added to
   * the family when it is collected (see {@link Tally}).
   */
  tally(series: { inc(value?: number): void }): Tally;
  /** Per statement on the read path: a {@link LocalHistogram}, not prom-client's (its observe costs a label hash). */
  queryDuration: LocalHistogram<'shard' | 'role' | 'operation' | 'outcome'>;
  queries: Counter<'shard' | 'role' | 'operation' | 'outcome'>;
  poolConnections: Gauge<'shard' | 'role' | 'node' | 'state'>;
  poolAcquireWait: LocalHistogram<'shard' | 'role'>;
  poolAcquireFailures: Counter<'shard' | 'role' | 'reason'>;
  replicaLag: Gauge<'shard' | 'node'>;
  replicaHealthy: Gauge<'shard' | 'node'>;
  replicaFallbacks: Counter<'shard' | 'consistency' | 'reason'>;
  replicaWait: Histogram<'shard'>;
  reads: Counter<'shard' | 'role' | 'consistency'>;
  twopcTransactions: Counter<'operation' | 'outcome'>;
  twopcPhaseDuration: Histogram<'operation' | 'phase'>;
  twopcInDoubt: Gauge<string>;
  twopcRecovered: Counter<'action'>;
  deadlockRetries: Counter<'operation'>;
  lockNowaitFallbacks: Counter<'operation'>;
  writeBehindQueueDepth: Gauge<'shard'>;
  writeBehindFlushDuration: Histogram<'shard'>;
  writeBehindFlushedRows: Counter<'shard' | 'kind'>;
  writeBehindFlushFailures: Counter<'shard'>;
  writeBehindDeadLetters: Counter<'shard' | 'kind'>;
  nodeDurable: Gauge<'shard' | 'node'>;
  onlineCharacters: Gauge<'shard' | 'district'>;
  semiSyncActive: Gauge<'shard'>;
  /**
   * Run (awaited) at every scrape of `mxo_online_characters` and `mxo_replication_semi_sync_active`: they refresh gauges that need a
   * database round trip (each caches its result; see `OnlineCharactersCollector`).
   */
  asyncCollectors: Set<() => Promise<void>>;
}

/** One collector set per registry, so several clusters can share a caller's registry. */
const collectorsByRegistry = new WeakMap<Registry, Set<() => void>>();
const asyncCollectorsByRegistry = new WeakMap<Registry, Set<() => Promise<void>>>();
const talliesByRegistry = new WeakMap<Registry, Set<Tally>>();

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Creates the metric families in `registry` (the caller's or a fresh one, never prom-client's
 * global registry). Calling it twice on one registry reuses the families already there.
 */
export function createMetrics(registry: Registry = new Registry()): Metrics {
  const reuse = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  let collectors = collectorsByRegistry.get(registry);
  if (!collectors) {
    collectors = new Set();
    collectorsByRegistry.set(registry, collectors);
  }
  const scrapeTime = collectors;
  let asyncCollectors = asyncCollectorsByRegistry.get(registry);
  if (!asyncCollectors) {
    asyncCollectors = new Set();
    asyncCollectorsByRegistry.set(registry, asyncCollectors);
  }
  const scrapeTimeAsync = asyncCollectors;
  let tallies = talliesByRegistry.get(registry);
  if (!tallies) {
    tallies = new Set();
    talliesByRegistry.set(registry, tallies);
  }
  const counted = tallies;
  const flushTallies = () => {
    for (const t of counted) t.flush();
  };

  return {
    registry,
    collectors,
    asyncCollectors,
    tally(series) {
      const t = new Tally(series);
      counted.add(t);
      return t;
    },
    queryDuration: reuse('mxo_query_duration_seconds', () => new LocalHistogram(
      'mxo_query_duration_seconds',
      'Duration of library operations against one database node, by outcome.',
      ['shard', 'role', 'operation', 'outcome'] as const,
      LATENCY_BUCKETS,
      registry,
    )),
    queries: reuse('mxo_queries_total', () => new Counter({
      name: 'mxo_queries_total',
      help: 'Library operations run against a database node, by outcome.',
      labelNames: ['shard', 'role', 'operation', 'outcome'] as const,
      registers,
      collect: flushTallies,
    })),
    poolConnections: reuse('mxo_pool_connections', () => new Gauge({
      name: 'mxo_pool_connections',
      help: 'Pooled connections per node by state (idle, in_use, pending acquires).',
      labelNames: ['shard', 'role', 'node', 'state'] as const,
      registers,
      collect() {
        for (const collect of scrapeTime) collect();
      },
    })),
    poolAcquireWait: reuse('mxo_pool_acquire_wait_seconds', () => new LocalHistogram(
      'mxo_pool_acquire_wait_seconds',
      'Time spent waiting for a pooled connection.',
      ['shard', 'role'] as const,
      LATENCY_BUCKETS,
      registry,
    )),
    poolAcquireFailures: reuse('mxo_pool_acquire_failures_total', () => new Counter({
      name: 'mxo_pool_acquire_failures_total',
      help: 'Acquires that failed: timeout, node unavailable, too many waiting clients.',
      labelNames: ['shard', 'role', 'reason'] as const,
      registers,
    })),
    replicaLag: reuse('mxo_replica_lag_seconds', () => new Gauge({
      name: 'mxo_replica_lag_seconds',
      help: 'Replication lag per replica as last measured by the lag monitor.',
      labelNames: ['shard', 'node'] as const,
      registers,
    })),
    replicaHealthy: reuse('mxo_replica_healthy', () => new Gauge({
      name: 'mxo_replica_healthy',
      help: '1 when the replica is used for reads, 0 when it is excluded (down, stopped, lagging).',
      labelNames: ['shard', 'node'] as const,
      registers,
    })),
    replicaFallbacks: reuse('mxo_replica_fallbacks_total', () => new Counter({
      name: 'mxo_replica_fallbacks_total',
      help: 'Reads that wanted a replica but went to the primary, by reason.',
      labelNames: ['shard', 'consistency', 'reason'] as const,
      registers,
    })),
    replicaWait: reuse('mxo_replica_gtid_wait_seconds', () => new Histogram({
      name: 'mxo_replica_gtid_wait_seconds',
      help: 'Time a session read waited for a replica to apply the session\'s last write.',
      labelNames: ['shard'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    })),
    reads: reuse('mxo_reads_total', () => new Counter({
      name: 'mxo_reads_total',
      help: 'Library reads by the node role that served them and the consistency asked for.',
      labelNames: ['shard', 'role', 'consistency'] as const,
      registers,
      collect: flushTallies,
    })),
    twopcTransactions: reuse('mxo_twopc_transactions_total', () => new Counter({
      name: 'mxo_twopc_transactions_total',
      help: 'Distributed (XA) transactions by operation and outcome (committed, aborted, unknown).',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    })),
    twopcPhaseDuration: reuse('mxo_twopc_phase_duration_seconds', () => new Histogram({
      name: 'mxo_twopc_phase_duration_seconds',
      help: 'Duration of each two-phase-commit phase (work, prepare, decide, commit, total).',
      labelNames: ['operation', 'phase'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    })),
    twopcInDoubt: reuse('mxo_twopc_in_doubt', () => new Gauge({
      name: 'mxo_twopc_in_doubt',
      help: 'Prepared XA branches found by the last recovery sweep that were not yet resolved.',
      registers,
    })),
    twopcRecovered: reuse('mxo_twopc_recovered_total', () => new Counter({
      name: 'mxo_twopc_recovered_total',
      help: 'Prepared XA branches resolved by recovery, by action (commit, rollback).',
      labelNames: ['action'] as const,
      registers,
    })),
    deadlockRetries: reuse('mxo_deadlock_retries_total', () => new Counter({
      name: 'mxo_deadlock_retries_total',
      help: 'Transactions retried after a deadlock or lock wait timeout.',
      labelNames: ['operation'] as const,
      registers,
    })),
    lockNowaitFallbacks: reuse('mxo_lock_nowait_fallbacks_total', () => new Counter({
      name: 'mxo_lock_nowait_fallbacks_total',
      help: 'Cross-shard transactions whose NOWAIT locks met a held row and that ran again in the global lock order.',
      labelNames: ['operation'] as const,
      registers,
    })),
    writeBehindQueueDepth: reuse('mxo_write_behind_queue_depth', () => new Gauge({
      name: 'mxo_write_behind_queue_depth',
      help: 'Entries (positions, log rows) waiting in the write-behind buffer per shard.',
      labelNames: ['shard'] as const,
      registers,
    })),
    writeBehindFlushDuration: reuse('mxo_write_behind_flush_duration_seconds', () => new Histogram({
      name: 'mxo_write_behind_flush_duration_seconds',
      help: 'Time to flush the write-behind buffer of one shard.',
      labelNames: ['shard'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    })),
    writeBehindFlushedRows: reuse('mxo_write_behind_flushed_rows_total', () => new Counter({
      name: 'mxo_write_behind_flushed_rows_total',
      help: 'Rows written by write-behind flushes, by kind (position, log).',
      labelNames: ['shard', 'kind'] as const,
      registers,
    })),
    writeBehindFlushFailures: reuse('mxo_write_behind_flush_failures_total', () => new Counter({
      name: 'mxo_write_behind_flush_failures_total',
      help: 'Write-behind flushes that did not write everything they took (shard down, rows left locked).',
      labelNames: ['shard'] as const,
      registers,
    })),
    writeBehindDeadLetters: reuse('mxo_write_behind_dead_letters_total', () => new Counter({
      name: 'mxo_write_behind_dead_letters_total',
      help: 'Buffered rows the shard refused on their own (a system_logs line names each), dropped so the rest land.',
      labelNames: ['shard', 'kind'] as const,
      registers,
    })),
    nodeDurable: reuse('mxo_node_durable', () => new Gauge({
      name: 'mxo_node_durable',
      help: '1 when a primary has sync_binlog=1 and innodb_flush_log_at_trx_commit=1 (checked at open), 0 when a crash may lose commit records.',
      labelNames: ['shard', 'node'] as const,
      registers,
    })),
    semiSyncActive: reuse('mxo_replication_semi_sync_active', () => new Gauge({
      name: 'mxo_replication_semi_sync_active',
      help: '1 while a primary with replicas waits for a replica to acknowledge each commit (Rpl_semi_sync_master_status ON), 0 when it is asynchronous (fell back after a timeout, or not enabled); no series while the primary is unreachable.',
      labelNames: ['shard'] as const,
      registers,
      async collect() {
        await Promise.all([...scrapeTimeAsync].map((collect) => collect()));
      },
    })),
    onlineCharacters: reuse('mxo_online_characters', () => new Gauge({
      name: 'mxo_online_characters',
      help: 'Characters flagged online (characters.is_online), per shard and configured district.',
      labelNames: ['shard', 'district'] as const,
      registers,
      async collect() {
        await Promise.all([...scrapeTimeAsync].map((collect) => collect()));
      },
    })),
  };
}
