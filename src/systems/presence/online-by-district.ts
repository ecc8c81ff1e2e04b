import type { NodePool } from '../../pool/node-pool.js';

/** Online characters per district on one shard primary (for the `mxo_online_characters` gauge). */
export async function countOnlineByDistrict(primary: NodePool): Promise<Array<{ districtId: number; online: number }>> {
  return primary.use('online_count', async (conn) => {
    const rows = await conn.rows<{ district_id: number; online: number | string }>(
      'SELECT district_id, COUNT(*) AS online FROM characters WHERE is_online GROUP BY district_id',
    );
    return rows.map((r) => ({ districtId: Number(r.district_id), online: Number(r.online) }));
  });
}
