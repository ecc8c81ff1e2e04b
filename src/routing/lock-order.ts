/**
 * The one global lock order of the cluster: character rows by shard name, then character id; global
 * after every shard. Every transaction that locks rows on more than one node takes them in this
 * order, so two transactions can never wait on each other across servers (a deadlock InnoDB cannot
 * see, which only the lock-wait timeout would end). Nothing else may order shard locks: a second
 * comparator that disagrees on one pair of names (a locale-aware comparison puts `a_1` before `a1`, `<` does
 * not) is enough for such a deadlock; test/lock-order.test.ts greps src/ for other ones.
 */

/** The global primary's key (routing/topology.ts GLOBAL), which comes after every shard. */
const GLOBAL_KEY = 'global';

/**
 * Shard names compared by UTF-16 code unit, like `<`: locale-independent and total; `global` after
 * every shard whatever the names (a shard named `zeta` sorts after `global` by code unit). The
 * same order ranks pools (XaTransaction.reserve): a transaction takes global's connection last,
 * so one holding it never waits for a shard's.
 */
export function compareShardKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (a === GLOBAL_KEY) return 1;
  if (b === GLOBAL_KEY) return -1;
  return a < b ? -1 : 1;
}

/** A character's row on its shard, as the lock order sees it. */
export interface CharacterLockKey {
  shard: string;
  characterId: number;
}

/** Shard name first, then character id. */
export function compareCharacterLocks(x: CharacterLockKey, y: CharacterLockKey): number {
  return compareShardKeys(x.shard, y.shard) || x.characterId - y.characterId;
}

/** A copy of `keys` in the global lock order. */
export function inLockOrder<T extends CharacterLockKey>(keys: readonly T[]): T[] {
  return [...keys].sort(compareCharacterLocks);
}

/** A copy of `shards` (shard names or `global`) in the global lock order. */
export function shardsInLockOrder<T extends string>(shards: Iterable<T>): T[] {
  return [...shards].sort(compareShardKeys);
}
