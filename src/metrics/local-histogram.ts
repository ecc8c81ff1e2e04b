import type { Registry } from 'prom-client';

/** One exported sample, in the shape prom-client's registry formats (`metricName`, `labels`, `value`). */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One labelled series of a {@link LocalHistogram}: what the hot path holds and observes into. */
export interface HistogramSeries {
  observe(value: number): void;
}

/** The counts of one series: per bucket (not cumulative), then the sum and count. */
class Series implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return; // a clock oddity is not worth an exception on a read path
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

/**
 * A histogram family for the read path's per-statement figures (`mxo_query_duration_seconds`,
 * `mxo_pool_acquire_wait_seconds`), with prom-client's exposition but a plain-number hot path:
 * prom-client's `observe()` re-validates and hashes the child's labels on every call (about 1 us
 * each, two per point read: a fifth of the library's CPU over the raw driver in profiles of
 * `characters.get`). Here a series is looked up once and observing is a bucket increment; the
 * registry reads the counts when it is scraped. Registered like any prom-client metric (it has the
 * `get()` a registry collects), so `/metrics`, `getMetricsAsJSON()` and cluster aggregation see a
 * histogram with the same buckets, `_sum` and `_count`.
 */
export class LocalHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    // Registry.registerMetric only keeps the object and later calls its get().
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series with these labels (created at zero on first use); hold it and observe into it. */
  labels(labels: Record<L, string>): HistogramSeries {
    const key = this.labelNames.map((n) => labels[n]).join('\0');
    let series = this.series.get(key);
    if (!series) {
      for (const n of this.labelNames) {
        if (typeof labels[n] !== 'string') throw new TypeError(`${this.name}: label ${n} is missing`);
      }
      const own = Object.fromEntries(this.labelNames.map((n) => [n, labels[n]])) as Record<string, string>;
      this.series.set(key, (series = new Series(own, this.buckets)));
    }
    return series;
  }

  /** Observes one value in the series with these labels. */
  observe(labels: Record<L, string>, value: number): void {
    this.labels(labels).observe(value);
  }

  /** Makes the series exist (exported at zero) without observing anything. */
  zero(labels: Record<L, string>): void {
    this.labels(labels);
  }

  /**
   * Zeroes every series (`registry.resetMetrics()`). The series stay: the pools hold them, and a
   * held series must keep counting after a reset (as a prom-client child does).
   */
  reset(): void {
    for (const s of this.series.values()) s.clear();
  }

  /** What a registry exports: cumulative buckets, +Inf, `_sum` and `_count` per series. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        // `le` first, as prom-client exports it.
        values.push({ labels: { le: this.buckets[i]!, ...s.labels }, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }
}
