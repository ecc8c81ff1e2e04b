import { ShardUnavailableError } from '../errors.js';
import { errnoOf } from '../pool/mysql-errors.js';
import type { ShardKey, ShardNodes, Topology } from './topology.js';

/** Reloads of the shard primaries one write makes after finding its primary gone (a failover each). */
export const FAILOVER_RETRIES = 2;
/** ER_OPTION_PREVENTS_STATEMENT: the server runs with --read-only (a fenced old primary). */
const ER_OPTION_PREVENTS_STATEMENT = 1290;

function isReadOnlyRefusal(error: unknown): boolean {
  return errnoOf(error) === ER_OPTION_PREVENTS_STATEMENT || errnoOf((error as { cause?: unknown })?.cause) === ER_OPTION_PREVENTS_STATEMENT;
}

/** The write found no primary to take it: unreachable, or refusing writes as read-only. */
export function primaryGone(error: unknown): boolean {
  return error instanceof ShardUnavailableError || isReadOnlyRefusal(error);
}

/** A read-only refusal becomes a typed "unavailable" naming the cause; other errors stay as they are. */
export function asUnavailable(error: unknown): unknown {
  if (error instanceof ShardUnavailableError || !isReadOnlyRefusal(error)) return error;
  return new ShardUnavailableError('a read-only primary (fenced by a failover whose record this process cannot read?)', { cause: error });
}

/**
 * Runs a read on the shard's nodes; when its primary is gone (ShardUnavailableError) and global
 * records a new one (a failover another process ran), reloads the primaries and reads once more
 * there. The read's counterpart of the write's rule above (one retry: a read changes nothing).
 */
export async function readOnCurrentPrimary<T>(topology: Topology, shard: ShardKey, read: (nodes: ShardNodes) => Promise<T>): Promise<T> {
  const primary = topology.nodes(shard).primary;
  try {
    return await read(topology.nodes(shard));
  } catch (error) {
    if (!(error instanceof ShardUnavailableError)) throw error;
    await topology.refreshPrimaries().catch(() => false);
    if (topology.nodes(shard).primary === primary) throw error;
    return read(topology.nodes(shard));
  }
}
