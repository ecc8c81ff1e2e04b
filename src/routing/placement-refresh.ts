import type { Topology } from './topology.js';

/** How often each process re-reads the district placement from global. */
export const PLACEMENT_REFRESH_MS = 5_000;

/**
 * The periodic placement refresh of an open cluster (internal lifecycle, not public API): every
 * process keeps its district placement fresh from global. Returns the function that stops it.
 */
export function startPlacementRefresh(topology: Topology): () => void {
  // Not before the placement was read once: a database not created yet must not mark the pool down.
  const tick = () => void (topology.placementLoaded ? topology.refreshPlacement().catch(() => {}) : undefined);
  const timer = setInterval(tick, PLACEMENT_REFRESH_MS);
  timer.unref();
  return () => clearInterval(timer);
}
