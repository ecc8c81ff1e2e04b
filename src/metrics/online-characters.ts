import type { Gauge } from 'prom-client';

/** One shard as the online-characters gauge sees it. */
export interface OnlineSource {
  shard: string;
  /** The shard's configured districts: each gets a series, 0 when nobody is online there. */
  districts: readonly number[];
  /**
   * Online characters per district on the shard's primary, e.g.
   * `SELECT district_id, COUNT(*) FROM characters WHERE is_online GROUP BY district_id`.
   */
  count(): Promise<Array<{ districtId: number; online: number }>>;
}

export interface OnlineCharactersOptions {
  /** A count younger than this is reused instead of querying again (default 5 s). */
  cacheMs?: number;
  /** A shard that has not answered after this long is left out of this scrape (default 2 s). */
  timeoutMs?: number;
}

/**
 * Feeds `mxo_online_characters{shard,district}` at scrape time: the first scrape after the cache
 * expires counts online characters on every shard primary (in parallel, bounded by a timeout);
 * scrapes in between reuse the last counts, so scraping often costs the databases nothing.
 *
 * Labels are bounded by the config: one series per configured district, never per character.
 * A shard that cannot be counted loses its series until it answers again (a gap on the dashboard
 * rather than a stale number). Districts the config does not list (rows written before a
 * re-sharding) are not exported.
 */
export class OnlineCharactersCollector {
  private readonly cacheMs: number;
  private readonly timeoutMs: number;
  private readonly countedAt = new Map<string, number>();
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly gauge: Gauge<'shard' | 'district'>,
    private readonly sources: () => readonly OnlineSource[],
    options: OnlineCharactersOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  /** Refreshes stale shards; concurrent scrapes share one refresh. Never throws. */
  readonly collect = (): Promise<void> => {
    if (this.closed) return Promise.resolve();
    this.inFlight ??= this.refresh().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  };

  /** Forgets the cache so the next scrape counts again (after a known change, in tests). */
  invalidate(): void {
    this.countedAt.clear();
  }

  /** Stops counting and removes this cluster's series. */
  close(): void {
    this.closed = true;
    for (const source of this.sources()) this.removeShard(source);
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    const stale = this.sources().filter((s) => now - (this.countedAt.get(s.shard) ?? -Infinity) >= this.cacheMs);
    await Promise.all(stale.map((source) => this.refreshShard(source)));
  }

  private async refreshShard(source: OnlineSource): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('online count timed out')), this.timeoutMs);
      timer.unref();
    });
    try {
      const rows = await Promise.race([source.count(), timeout]);
      if (this.closed) return;
      const online = new Map<number, number>(source.districts.map((d) => [d, 0]));
      for (const row of rows) {
        if (online.has(row.districtId)) online.set(row.districtId, row.online);
      }
      for (const [district, value] of online) this.gauge.set({ shard: source.shard, district: String(district) }, value);
      this.countedAt.set(source.shard, Date.now());
    } catch {
      this.removeShard(source);
      this.countedAt.delete(source.shard);
    } finally {
      clearTimeout(timer);
    }
  }

  private removeShard(source: OnlineSource): void {
    for (const district of source.districts) this.gauge.remove({ shard: source.shard, district: String(district) });
  }
}
