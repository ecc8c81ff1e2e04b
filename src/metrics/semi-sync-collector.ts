import type { Gauge } from 'prom-client';
import type { NodePool } from '../pool/node-pool.js';
import { readSemiSync } from '../replica/semi-sync.js';

/** A primary with replicas, as the semi-sync gauge sees it. */
export interface SemiSyncSource {
  shard: string;
  primary: NodePool;
}

/**
 * Feeds `mxo_replication_semi_sync_active{shard}` at scrape time for every primary with replicas:
 * 1 while it is semi-synchronous, 0 when it is asynchronous (fell back after
 * `rpl_semi_sync_master_timeout`, or never enabled). Asked at most once per `cacheMs`; a primary
 * that does not answer within `timeoutMs` loses its series (the MxoShardDown alert covers it).
 */
export class SemiSyncCollector {
  private readonly checkedAt = new Map<string, number>();
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly gauge: Gauge<'shard'>,
    private readonly sources: () => readonly SemiSyncSource[],
    private readonly options: { cacheMs: number; timeoutMs: number } = { cacheMs: 5_000, timeoutMs: 2_000 },
  ) {}

  /** Refreshes stale primaries; concurrent scrapes share one refresh. Never throws. */
  readonly collect = (): Promise<void> => {
    if (this.closed) return Promise.resolve();
    this.inFlight ??= this.refresh().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  };

  /** Stops asking and removes this cluster's series. */
  close(): void {
    this.closed = true;
    for (const source of this.sources()) this.gauge.remove({ shard: source.shard });
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    const stale = this.sources().filter((s) => now - (this.checkedAt.get(s.shard) ?? -Infinity) >= this.options.cacheMs);
    await Promise.all(stale.map((source) => this.refreshOne(source)));
  }

  private async refreshOne(source: SemiSyncSource): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('semi-sync check timed out')), this.options.timeoutMs);
      timer.unref();
    });
    try {
      const state = await Promise.race([source.primary.use('semi_sync_status', readSemiSync), timeout]);
      if (this.closed) return;
      this.gauge.set({ shard: source.shard }, state.enabled && state.active ? 1 : 0);
      this.checkedAt.set(source.shard, Date.now());
    } catch {
      this.gauge.remove({ shard: source.shard });
      this.checkedAt.delete(source.shard);
    } finally {
      clearTimeout(timer);
    }
  }
}
