import { NotFoundError } from '../errors.js';
import type { Router } from '../routing/router.js';

/**
 * Finds the shard holding a world row by its cluster-unique id (ids of world content come from
 * the global `world_id` sequence, so at most one shard has it). Rows never move, so the answer
 * stays true; writes still re-check the row inside their transaction.
 */
export async function shardOfWorldRow(router: Router, table: WorldTable, id: number): Promise<string> {
  const column = ID_COLUMN[table];
  const found = await router.readEveryShard(`${table}_locate`, 'strong', async (conn, shard) =>
    (await conn.rows(`SELECT 1 FROM ${table} WHERE ${column} = ?`, [id])).length > 0 ? shard : undefined,
  );
  const shard = found.find((s) => s !== undefined);
  if (!shard) throw new NotFoundError(ENTITY[table], id);
  return shard;
}

export type WorldTable = 'world_objects' | 'hardlines' | 'vendors' | 'world_events' | 'interlock_encounters';

const ID_COLUMN: Record<WorldTable, string> = {
  world_objects: 'object_id',
  hardlines: 'hardline_id',
  vendors: 'vendor_id',
  world_events: 'event_id',
  interlock_encounters: 'interlock_id',
};

const ENTITY: Record<WorldTable, string> = {
  world_objects: 'world object',
  hardlines: 'hardline',
  vendors: 'vendor',
  world_events: 'world event',
  interlock_encounters: 'interlock',
};
