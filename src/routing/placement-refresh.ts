import type { Topology } from './topology.js';

/** How often each process re-reads the district placement (and failed-over primaries) from global. */
export const PLACEMENT_REFRESH_MS = 5_000;

/**
 * The periodic refresh of an open cluster (internal lifecycle, not public API): every process keeps
 * its district placement and its shards' primaries (after a failover another process ran) fresh
 * from global, besides reloading at once when a write finds a district moved or a primary gone.
 */
export class PlacementRefresh {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly topology: Topology) {}

  start(): void {
    const topology = this.topology;
    // Not before the placement was read once: a database not created yet must not mark the pool down.
    const tick = () => {
      if (!topology.placementLoaded) return;
      void topology.refreshPlacement().catch(() => {});
      void topology.refreshPrimaries().catch(() => {});
    };
    this.timer ??= setInterval(tick, PLACEMENT_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
