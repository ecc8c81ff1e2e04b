import { errnoOf } from '../pool/mysql-errors.js';
import type { NodePool } from '../pool/node-pool.js';

/** One district's placement row on global. */
export interface DistrictPlacement {
  districtId: number;
  shard: string;
  version: number;
}

const ER_BAD_DB = 1049;
const ER_NO_SUCH_TABLE = 1146;

/**
 * Reads every district's placement from global; `undefined` while the cluster is not migrated
 * yet (no database or no table), when the config is the only placement there is.
 */
export async function loadPlacement(global: NodePool): Promise<DistrictPlacement[] | undefined> {
  try {
    return await global.use('placement_load', async (conn) =>
      (
        await conn.rows<{ district_id: number; shard_name: string; version: number }>(
          'SELECT district_id, shard_name, version FROM district_placement',
        )
      ).map((r) => ({ districtId: Number(r.district_id), shard: r.shard_name, version: Number(r.version) })),
    );
  } catch (error) {
    const errno = errnoOf(error) ?? errnoOf((error as { cause?: unknown }).cause);
    if (errno === ER_BAD_DB || errno === ER_NO_SUCH_TABLE) return undefined;
    throw error;
  }
}
