import type { LevelCurve } from './level-curve.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { IdAllocator } from '../../routing/id-allocator.js';
import type { Router } from '../../routing/router.js';
import type { WriteBehindBuffer } from '../../writebehind/write-behind-buffer.js';

/**
 * What every repository gets. Repositories reach the database only through `router` (writes,
 * reads, routes) and `writeBehind` (high-frequency rows); they never import one another.
 */
export interface RepoContext {
  router: Router;
  /** Cluster-unique ids handed out in cached blocks (trade ids and the like). */
  ids: IdAllocator;
  metrics: Metrics;
  /** The write-behind buffer of a shard (positions, log rows, counters). */
  writeBehind: (shard: string) => WriteBehindBuffer;
  /** The configured level curve; absent means DEFAULT_LEVEL_CURVE (src/systems/shared/level-curve.ts). */
  levelCurve?: LevelCurve;
}
