import type { NodePool } from '../pool/node-pool.js';

/** Decides whether a replica may serve reads right now, and what it is known to have applied. */
export interface ReplicaHealth {
  isUsable(replica: NodePool): boolean;
  /**
   * True when the replica is known to have applied `position` already (a session read may then
   * run there without waiting). Optional: without it every session read with a position waits.
   */
  hasApplied?(replica: NodePool, position: string): boolean;
  /** A GTID wait on the replica returned 0: it has applied `position`. */
  noteApplied?(replica: NodePool, position: string): void;
  /** Find out, in the background, when the replica applies `position` (see LagMonitor). */
  track?(shard: string, position: string): void;
}
