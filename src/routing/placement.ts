import mysql, { type RowDataPacket } from 'mysql2/promise';
import { errnoOf } from '../pool/mysql-errors.js';
import type { NodePool } from '../pool/node-pool.js';
import { connectionOptions } from '../pool/connection-options.js';

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

/**
 * The same read on a connection of its own (at open, before migrate perhaps): a missing
 * database must not mark the global pool down for the calls that follow.
 */
export async function loadPlacementOnce(global: NodePool, timeoutMs: number): Promise<DistrictPlacement[] | undefined> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection(connectionOptions(global.address, { database: global.address.database, connectTimeout: timeoutMs }));
    conn.on('error', () => {});
    const [rows] = await conn.query<RowDataPacket[]>('SELECT district_id, shard_name, version FROM district_placement');
    return rows.map((r) => ({ districtId: Number(r.district_id), shard: String(r.shard_name), version: Number(r.version) }));
  } catch {
    return undefined; // not migrated, or unreachable: the config stands until the next refresh
  } finally {
    await conn?.end().catch(() => conn?.destroy());
  }
}

/** A shard recorded by `db.admin.addShard` (no password: a process connects as it does to global). */
export interface RecordedShard {
  name: string;
  host: string;
  port: number;
  database: string;
}

/** The shards `db.admin.addShard` recorded on global. */
export async function loadRecordedShards(global: NodePool): Promise<RecordedShard[]> {
  return global.use('cluster_shards_load', async (conn) =>
    (
      await conn.rows<{ shard_name: string; primary_host: string; primary_port: number; database_name: string }>(
        'SELECT shard_name, primary_host, primary_port, database_name FROM cluster_shards',
      )
    ).map((r) => ({ name: r.shard_name, host: r.primary_host, port: Number(r.primary_port), database: r.database_name })),
  );
}
