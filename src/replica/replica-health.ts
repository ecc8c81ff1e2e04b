import type { NodePool } from '../pool/node-pool.js';

/** Decides whether a replica may serve reads right now. */
export interface ReplicaHealth {
  isUsable(replica: NodePool): boolean;
}

/** Without a lag monitor: a replica is usable unless its pool is in a down window. */
export const reachableReplicas: ReplicaHealth = {
  isUsable: (replica) => !replica.isDown(),
};
