/**
 * The read path's histograms (src/metrics/local-histogram.ts) export what prom-client's Histogram
 * exports for the same observations: the same exposition text, the same JSON samples, so
 * dashboards and alerts cannot tell them apart.
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LocalHistogram } from '../../src/metrics/local-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// Values on bucket bounds, between them, below the first and above the last.
const VALUES = [0, 0.0005, 0.0007, 0.001, 0.003, 0.0999, 0.1, 0.3, 2.5, 4.99, 5, 6, 120];

function both() {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    name: 'h_seconds',
    help: 'a histogram',
    labelNames: ['shard', 'op'] as const,
    buckets: BUCKETS,
    registers: [theirs],
  });
  const local = new LocalHistogram('h_seconds', 'a histogram', ['shard', 'op'] as const, BUCKETS, ours);
  return { theirs, ours, reference, local };
}

describe('LocalHistogram', () => {
  it('exports the exposition text and JSON of prom-client for the same observations', async () => {
    const { theirs, ours, reference, local } = both();
    const held = local.labels({ shard: 'alpha', op: 'get' });
    for (const v of VALUES) {
      reference.labels({ shard: 'alpha', op: 'get' }).observe(v);
      held.observe(v);
    }
    reference.observe({ shard: 'beta', op: 'load' }, 0.02);
    local.observe({ shard: 'beta', op: 'load' }, 0.02);
    reference.zero({ shard: 'gamma', op: 'get' });
    local.zero({ shard: 'gamma', op: 'get' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const json = async (r: Registry) =>
      (await r.getMetricsAsJSON()).map((m) => ({
        ...m,
        values: m.values.map((v) => ({ metricName: (v as { metricName?: string }).metricName, labels: { ...v.labels }, value: v.value })),
      }));
    expect(await json(ours)).toEqual(await json(theirs));
  });

  it('a missing label is refused when the series is first made; after a reset a held series counts from zero', async () => {
    const { ours, local } = both();
    expect(() => local.labels({ shard: 'alpha' } as never)).toThrow(/label op is missing/);
    const held = local.labels({ shard: 'alpha', op: 'get' });
    held.observe(1);
    held.observe(2);
    ours.resetMetrics();
    expect(await ours.metrics()).toContain('h_seconds_count{shard="alpha",op="get"} 0');
    held.observe(0.002);
    const text = await ours.metrics();
    expect(text).toContain('h_seconds_count{shard="alpha",op="get"} 1');
    expect(text).toContain('h_seconds_sum{shard="alpha",op="get"} 0.002');
  });
});
