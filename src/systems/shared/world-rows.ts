import { NotFoundError } from '../../errors.js';
import type { Router } from '../../routing/router.js';
import { singleKey } from '../../schema/table-registry.js';

/**
 * Finds the shard holding a world row by its cluster-unique id (ids of world content come from
 * the global `world_id` sequence, so at most one shard has it). Rows never move, so the answer
 * stays true; writes still re-check the row inside their transaction.
 */
export async function shardOfWorldRow(router: Router, table: WorldTable, id: number): Promise<string> {
  const cache = cacheOf(router);
  const known = cache.get(`${table}:${id}`);
  if (known) return known;
  const column = ID_COLUMN[table];
  const found = await router.readEveryShard(`${table}_locate`, 'strong', async (conn, shard) =>
    (await conn.rows(`SELECT 1 FROM ${table} WHERE ${column} = ?`, [id])).length > 0 ? shard : undefined,
  );
  const shard = found.find((s) => s !== undefined);
  if (!shard) throw new NotFoundError(ENTITY[table], id);
  rememberShard(router, `${table}:${id}`, shard);
  return shard;
}

/**
 * Where rows that never move live, per cluster topology (a process may open several clusters
 * whose ids overlap). Bounded: the oldest half is dropped when full.
 */
const CACHE_LIMIT = 50_000;
const caches = new WeakMap<object, { epoch: number; map: Map<string, string> }>();

/** The cache of this topology; dropped when a district changed shard (its world rows moved with it). */
function cacheOf(router: Router): Map<string, string> {
  const epoch = router.topology.placementEpoch;
  let cache = caches.get(router.topology);
  if (!cache || cache.epoch !== epoch) caches.set(router.topology, (cache = { epoch, map: new Map() }));
  return cache.map;
}

/** Notes where a never-moving row lives (world content, trade windows). */
export function rememberShard(router: Router, key: string, shard: string): void {
  const cache = cacheOf(router);
  if (cache.size >= CACHE_LIMIT) for (const k of [...cache.keys()].slice(0, CACHE_LIMIT / 2)) cache.delete(k);
  cache.set(key, shard);
}

/** The remembered shard of a never-moving row, if any. */
export function knownShard(router: Router, key: string): string | undefined {
  return cacheOf(router).get(key);
}

export type WorldTable = 'world_objects' | 'hardlines' | 'vendors' | 'world_events' | 'interlock_encounters';

/** Each world table's id column, from the table registry (their keys are one cluster-wide world id). */
const ID_COLUMN = Object.fromEntries(
  (['world_objects', 'hardlines', 'vendors', 'world_events', 'interlock_encounters'] as const).map((t) => [t, singleKey(t)]),
) as Record<WorldTable, string>;

const ENTITY: Record<WorldTable, string> = {
  world_objects: 'world object',
  hardlines: 'hardline',
  vendors: 'vendor',
  world_events: 'world event',
  interlock_encounters: 'interlock',
};
