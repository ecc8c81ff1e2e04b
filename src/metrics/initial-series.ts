import type { Registry } from 'prom-client';
import type { Metrics } from './metrics.js';

/** The label values known when a cluster opens: its nodes and shards (from the config). */
export interface KnownSeries {
  nodes: Array<{ shard: string; role: 'primary' | 'replica'; name: string }>;
  /** Shard names (not `global`): write-behind buffers exist per shard. */
  shards: string[];
}

const CONSISTENCIES = ['strong', 'session', 'eventual'] as const;
const ACQUIRE_FAILURES = ['timeout', 'unavailable', 'queue_full', 'closed'] as const;
const FALLBACKS = ['no_healthy_replica', 'not_yet_applied', 'gtid_wait_timeout', 'replica_error', 'replica_timeout'] as const;
/** Two-phase operations every cluster runs (a trade, a character's creation): their series exist at 0. */
const TWO_PHASE_OPERATIONS = ['trade', 'character_create'] as const;
const PHASES = ['work', 'prepare', 'decide', 'commit', 'total'] as const;
const TWO_PHASE_OUTCOMES = ['committed', 'aborted', 'unknown'] as const;
const WRITE_BEHIND_KINDS = ['position', 'log'] as const;

const initialised = new WeakMap<Registry, Set<string>>();

/**
 * Creates every series whose label values are known up front, at 0, so a dashboard panel or an
 * alert over a counter nothing has incremented yet shows 0 instead of "No data" (and `rate()` /
 * `increase()` see the first increment). Series whose labels come from traffic (the operation of
 * a query) appear with it; the 2PC ones are seeded with the operations every cluster runs.
 */
export function initialiseSeries(metrics: Metrics, known: KnownSeries): void {
  // Once per series and registry: a second cluster sharing the registry must not reset a
  // histogram or gauge the first one already fills (prom-client's zero() and set() overwrite).
  let seen = initialised.get(metrics.registry);
  if (!seen) initialised.set(metrics.registry, (seen = new Set()));
  const once = (family: string, labels: Record<string, string>, init: () => void) => {
    const key = `${family}${JSON.stringify(labels)}`;
    if (seen.has(key)) return;
    seen.add(key);
    init();
  };
  for (const { shard, role, name } of known.nodes) {
    once('poolAcquireWait', { shard, role }, () => metrics.poolAcquireWait.zero({ shard, role }));
    for (const reason of ACQUIRE_FAILURES) metrics.poolAcquireFailures.inc({ shard, role, reason }, 0);
    for (const consistency of CONSISTENCIES) metrics.reads.inc({ shard, role, consistency }, 0);
    for (const state of ['idle', 'in_use', 'pending'])
      once('poolConnections', { shard, role, node: name, state }, () => metrics.poolConnections.set({ shard, role, node: name, state }, 0));
    if (role === 'replica') {
      // Not used for reads until the lag monitor's first check proves it (replica/lag-monitor.ts).
      once('replicaHealthy', { shard, node: name }, () => metrics.replicaHealthy.set({ shard, node: name }, 0));
      once('replicaLag', { shard, node: name }, () => metrics.replicaLag.set({ shard, node: name }, 0));
    }
  }
  for (const shard of new Set(known.nodes.filter((n) => n.role === 'replica').map((n) => n.shard))) {
    once('replicaWait', { shard }, () => metrics.replicaWait.zero({ shard }));
    for (const consistency of CONSISTENCIES) {
      for (const reason of FALLBACKS) metrics.replicaFallbacks.inc({ shard, consistency, reason }, 0);
    }
  }
  for (const operation of TWO_PHASE_OPERATIONS) {
    for (const outcome of TWO_PHASE_OUTCOMES) metrics.twopcTransactions.inc({ operation, outcome }, 0);
    for (const phase of PHASES)
      once('twopcPhaseDuration', { operation, phase }, () => metrics.twopcPhaseDuration.zero({ operation, phase }));
    metrics.deadlockRetries.inc({ operation }, 0);
    metrics.lockNowaitFallbacks.inc({ operation }, 0);
  }
  for (const action of ['commit', 'rollback']) metrics.twopcRecovered.inc({ action }, 0);
  once('twopcInDoubt', {}, () => metrics.twopcInDoubt.set(0));
  for (const shard of known.shards) {
    once('writeBehindQueueDepth', { shard }, () => metrics.writeBehindQueueDepth.set({ shard }, 0));
    once('writeBehindFlushDuration', { shard }, () => metrics.writeBehindFlushDuration.zero({ shard }));
    metrics.writeBehindFlushFailures.inc({ shard }, 0);
    for (const kind of WRITE_BEHIND_KINDS) {
      metrics.writeBehindFlushedRows.inc({ shard, kind }, 0);
      metrics.writeBehindDeadLetters.inc({ shard, kind }, 0);
    }
  }
}
