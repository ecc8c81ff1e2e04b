import type { Topology } from '../routing/topology.js';
import { replicaLooksStuck, repairXaReplica, type ReplicaRepairReport } from './xa-replica-repair.js';

/**
 * The recovery sweep's replica step: repairs every replica that looks stuck by MariaDB's user-XA
 * crash defects, only where the primary's binlog proves the cause (see xa-replica-repair.ts).
 * A replica that cannot be checked is left alone; a failed repair is reported, never thrown.
 */
export async function repairStuckReplicas(topology: Topology): Promise<ReplicaRepairReport[]> {
  const reports: ReplicaRepairReport[] = [];
  for (const nodes of topology.all()) {
    for (const replica of nodes.replicas) {
      const stuck = await replicaLooksStuck(nodes.primary, replica).catch(() => false);
      if (!stuck) continue;
      reports.push(
        await repairXaReplica(nodes.primary, replica, { rounds: 5, waitSeconds: 2 }).catch((error: unknown) => ({
          replica: replica.identity.name,
          repaired: [],
          unexplained: [`repair failed: ${(error as Error).message}`],
        })),
      );
    }
  }
  return reports;
}
