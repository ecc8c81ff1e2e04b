import { GLOBAL, type Topology } from '../routing/topology.js';
import type { Coordinator } from '../twopc/coordinator.js';

/**
 * Seeds `district_placement` on global from the config (rows that exist win: a district moved
 * live stays where it went), loads it into the topology, then gives each shard an 'owned' fence
 * row for every district placed on it that has none yet.
 */
export async function seedPlacement(coordinator: Coordinator, topology: Topology): Promise<void> {
  await coordinator.run('seed_placement', [GLOBAL], GLOBAL, async (tx) => {
    const conn = await tx.branch(GLOBAL);
    for (const d of topology.allDistricts()) {
      await conn.exec('INSERT IGNORE INTO district_placement (district_id, shard_name) VALUES (?, ?)', [d, topology.shardOfDistrict(d)]);
    }
  });
  await topology.refreshPlacement();
  for (const shard of topology.shards) {
    const mine = topology.allDistricts().filter((d) => topology.shardOfDistrict(d) === shard.key);
    if (mine.length === 0) continue;
    await coordinator.run('seed_fences', [shard.key], shard.key, async (tx) => {
      const conn = await tx.branch(shard.key);
      for (const d of mine) await conn.exec("INSERT IGNORE INTO district_fences (district_id, state) VALUES (?, 'owned')", [d]);
    });
  }
}
