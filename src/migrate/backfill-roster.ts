import { GLOBAL, type Topology } from '../routing/topology.js';
import type { Coordinator } from '../twopc/coordinator.js';

/** The migration that added character_directory.character_status (the roster's status). */
export const ROSTER_MIGRATION = '095_login_roster.sql';

/**
 * Once, right after `sql/global/095_login_roster.sql` is applied: copies each shard row's
 * character_status into the new directory column (which starts at 0), so the login roster shows
 * what setProfile stored before the column existed. Later writes keep the two in step themselves
 * (setProfile writes both in one two-phase commit); `verify` compares them.
 */
export async function backfillRosterStatus(coordinator: Coordinator, topology: Topology): Promise<number> {
  let copied = 0;
  for (const shard of topology.shards) {
    const rows = await shard.primary.use('backfill_roster_read', (c) =>
      c.rows<{ character_id: number; character_status: number }>(
        'SELECT character_id, character_status FROM characters WHERE character_status <> 0 ORDER BY character_id',
      ),
    );
    for (let i = 0; i < rows.length; i += 500) {
      const batch = rows.slice(i, i + 500);
      await coordinator.run('backfill_roster_status', [GLOBAL], GLOBAL, async (tx) => {
        const conn = await tx.branch(GLOBAL);
        for (const r of batch) {
          const header = await conn.exec('UPDATE character_directory SET character_status = ? WHERE character_id = ? AND shard_name = ?', [
            r.character_status,
            r.character_id,
            shard.key,
          ]);
          copied += header.affectedRows;
        }
      });
    }
  }
  return copied;
}
