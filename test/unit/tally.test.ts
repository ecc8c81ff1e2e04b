import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';

describe('tallied counters (hot-path counts added when the family is collected)', () => {
  it('every count reaches the exposition and the JSON of the family, once', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const labels = { shard: 'alpha', role: 'primary', operation: 'character_get', outcome: 'ok' };
    const queries = metrics.tally(metrics.queries.labels(labels));
    const reads = metrics.tally(metrics.reads.labels({ shard: 'alpha', role: 'primary', consistency: 'strong' }));
    for (let i = 0; i < 3; i++) queries.inc();
    reads.inc();
    const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);
    expect(await value('mxo_queries_total')).toBe(3);
    expect(await value('mxo_reads_total')).toBe(1);
    queries.inc();
    expect(await registry.metrics()).toContain('mxo_queries_total{shard="alpha",role="primary",operation="character_get",outcome="ok"} 4');
    // Collected again with nothing new: the same totals (nothing added twice).
    expect(await value('mxo_queries_total')).toBe(4);
    expect(await value('mxo_reads_total')).toBe(1);
  });
});
