import { z } from 'zod';
import { NameTakenError, NotFoundError } from '../../errors.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import type { Consistency } from '../../routing/read-router.js';
import { parseInput, schemaFor } from '../../validate.js';
import { clientObjectId } from '../shared/client-ids.js';
import { yaw } from '../shared/client-limits.js';
import type { RepoContext } from '../shared/context.js';
import { amount, faction, id, position, varchar } from '../shared/fields.js';
import { shardOfWorldRow } from '../shared/world-rows.js';
import type { HardlineRow } from './hardline-travel.js';
import { hardlineOf, type ClientHardline } from './world-client.js';
import type { HardlineChange } from './world-inputs.js';

/**
 * GM tools for hardlines (Reality's `@hardline` commands, mxo-hd's hardline table): change one
 * in place, remove it, list every hardline of the cluster. A hardline lives on its district's
 * shard; its id (from the global world_id sequence) finds that shard.
 */

const changeInput = schemaFor<HardlineChange>()(
  z
    .object({
      hardlineName: varchar(64).optional(),
      position: position.optional(),
      yaw: yaw.optional(),
      hardlineType: z.enum(['public', 'private', 'faction', 'mission']).optional(),
      accessCode: varchar(16).nullable().optional(),
      factionRequirement: faction.optional(),
      levelRequirement: z.number().int().min(1).max(127).optional(),
      connectionCost: amount.optional(),
      isActive: z.boolean().optional(),
      hardlineNumber: clientObjectId.optional(),
    })
    .strict()
    .refine((c) => Object.values(c).some((v) => v !== undefined), 'at least one field'),
);

const COLUMN: Record<string, string> = {
  hardlineName: 'hardline_name',
  yaw: 'yaw',
  hardlineType: 'hardline_type',
  accessCode: 'access_code',
  factionRequirement: 'faction_requirement',
  levelRequirement: 'level_requirement',
  connectionCost: 'connection_cost',
  isActive: 'is_active',
  hardlineNumber: 'hardline_number',
};

/** Changes the given fields of a hardline; returns it as changed. */
export async function updateHardline(ctx: RepoContext, hardlineId: number, change: HardlineChange): Promise<ClientHardline> {
  const hid = parseInput(id, hardlineId, 'hardline id');
  const c = parseInput(changeInput, change, 'hardline');
  const shard = await shardOfWorldRow(ctx.router, 'hardlines', hid);
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [field, value] of Object.entries(c)) {
    if (value === undefined || field === 'position') continue;
    sets.push(`${COLUMN[field]} = ?`);
    params.push(value);
  }
  if (c.position) {
    sets.push('position_x = ?', 'position_y = ?', 'position_z = ?');
    params.push(c.position.x, c.position.y, c.position.z);
  }
  try {
    return await ctx.router.onShard('hardline_update', shard, async (conn) => {
      const [found] = await conn.rows('SELECT hardline_id FROM hardlines WHERE hardline_id = ? FOR UPDATE', [hid]);
      if (!found) throw new NotFoundError('hardline', hid);
      await conn.exec(`UPDATE hardlines SET ${sets.join(', ')} WHERE hardline_id = ?`, [...params, hid]);
      const [row] = await conn.rows<HardlineRow & Record<string, unknown>>('SELECT * FROM hardlines WHERE hardline_id = ?', [hid]);
      return hardlineOf(row!);
    });
  } catch (error) {
    if (isDuplicateKey(error, 'uq_hardlines_district_number'))
      throw new NameTakenError('hardlineNumber', String(c.hardlineNumber), { cause: error });
    throw error;
  }
}

/** Removes a hardline (characters' known hardlines name places, not rows: they stay). */
export async function removeHardline(ctx: RepoContext, hardlineId: number): Promise<void> {
  const hid = parseInput(id, hardlineId, 'hardline id');
  const shard = await shardOfWorldRow(ctx.router, 'hardlines', hid);
  await ctx.router.onShard('hardline_remove', shard, async (conn) => {
    const header = await conn.exec('DELETE FROM hardlines WHERE hardline_id = ?', [hid]);
    if (header.affectedRows !== 1) throw new NotFoundError('hardline', hid);
  });
}

/** Every hardline of the cluster: one statement per shard, all at once; by district, then number. */
export async function allHardlines(ctx: RepoContext, consistency: Consistency): Promise<ClientHardline[]> {
  const perShard = await ctx.router.readEveryShard('hardlines_all', consistency, (conn) =>
    conn.rows<HardlineRow & Record<string, unknown>>('SELECT * FROM hardlines ORDER BY district_id, hardline_number, hardline_id'),
  );
  return perShard
    .flat()
    .map(hardlineOf)
    .sort((a, b) => a.districtId - b.districtId || (a.hardlineNumber ?? -1) - (b.hardlineNumber ?? -1) || a.hardlineId - b.hardlineId);
}
