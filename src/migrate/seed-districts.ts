import { GLOBAL, type Topology } from '../routing/topology.js';
import type { Coordinator } from '../twopc/coordinator.js';

/**
 * Placeholder `districts` rows for configured districts that content has not defined yet, on
 * global and every shard in one two-phase commit: the config is the routing truth, and shard-local
 * foreign keys to `districts` must hold for every district a character can be in.
 */
export async function seedDistricts(coordinator: Coordinator, topology: Topology): Promise<void> {
  const districts = topology.allDistricts();
  const keys = topology.all().map((n) => n.key);
  await coordinator.run('seed_districts', keys, GLOBAL, async (tx) => {
    for (const key of keys) {
      const conn = await tx.branch(key);
      for (const d of districts) {
        await conn.exec(
          `INSERT IGNORE INTO districts (district_id, district_name, district_type, min_x, max_x, min_y, max_y, min_z, max_z)
           VALUES (?, ?, 'special', 0, 0, 0, 0, 0, 0)`,
          [d, `District ${d}`],
        );
      }
    }
  });
}
