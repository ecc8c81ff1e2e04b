import type { PooledConnection } from '../../pool/pooled-connection.js';
import { inList } from '../../pool/in-list.js';

/**
 * Crew and organization membership rules shared by every path that removes members (leave,
 * kick, disband, account deletion, archiving): counts are recomputed from the membership rows
 * in the same transaction, a crew whose captain leaves gets the longest-serving lieutenant (else
 * member) as captain, an emptied crew is disbanded, and an organization whose leader leaves gets
 * its highest-ranked longest-serving member. Foreign-key cascades fire no triggers, which is why
 * deletions of characters must call {@link releaseMemberships} before deleting directory rows.
 */

/** Sets a crew's member_count to its number of membership rows. */
export async function recountCrew(conn: PooledConnection, crewId: number): Promise<number> {
  const [row] = await conn.rows<{ n: number }>('SELECT COUNT(*) AS n FROM crew_members WHERE crew_id = ?', [crewId]);
  const count = Number(row?.n ?? 0);
  await conn.exec('UPDATE crews SET member_count = ? WHERE crew_id = ?', [count, crewId]);
  return count;
}

/** Sets an organization's member_count to its number of membership rows. */
export async function recountOrganization(conn: PooledConnection, organizationId: number): Promise<number> {
  const [row] = await conn.rows<{ n: number }>('SELECT COUNT(*) AS n FROM organization_members WHERE organization_id = ?', [
    organizationId,
  ]);
  const count = Number(row?.n ?? 0);
  await conn.exec('UPDATE organizations SET member_count = ? WHERE organization_id = ?', [count, organizationId]);
  return count;
}

/**
 * After members left a (locked) crew: recount, hand on captaincy if the captain is gone, or
 * disband the crew when nobody is left. Returns the new captain (null when disbanded).
 */
export async function settleCrew(conn: PooledConnection, crewId: number): Promise<{ captainId: number | null; disbanded: boolean }> {
  const count = await recountCrew(conn, crewId);
  if (count === 0) {
    await conn.exec('DELETE FROM crews WHERE crew_id = ?', [crewId]);
    return { captainId: null, disbanded: true };
  }
  const [crew] = await conn.rows<{ captain_id: number | null }>(
    `SELECT c.captain_id FROM crews c JOIN crew_members m ON m.crew_id = c.crew_id AND m.character_id = c.captain_id
      WHERE c.crew_id = ?`,
    [crewId],
  );
  if (crew) return { captainId: Number(crew.captain_id), disbanded: false };
  const [next] = await conn.rows<{ character_id: number }>(
    `SELECT character_id FROM crew_members WHERE crew_id = ?
      ORDER BY FIELD(position, 'captain', 'lieutenant', 'member', 'recruit'), join_date, character_id LIMIT 1`,
    [crewId],
  );
  const captainId = Number(next!.character_id);
  await conn.exec('UPDATE crews SET captain_id = ? WHERE crew_id = ?', [captainId, crewId]);
  await conn.exec("UPDATE crew_members SET position = 'captain' WHERE crew_id = ? AND character_id = ?", [crewId, captainId]);
  return { captainId, disbanded: false };
}

/**
 * After members left a (locked) organization: recount and, if the leader is gone, make the
 * highest-ranked longest-serving member leader. An emptied organization keeps its row (and
 * treasury) but is marked inactive with no leader.
 */
export async function settleOrganization(conn: PooledConnection, organizationId: number): Promise<{ leaderId: number | null }> {
  const count = await recountOrganization(conn, organizationId);
  if (count === 0) {
    await conn.exec('UPDATE organizations SET leader_id = NULL, is_active = FALSE WHERE organization_id = ?', [organizationId]);
    return { leaderId: null };
  }
  const [org] = await conn.rows<{ leader_id: number }>(
    `SELECT o.leader_id FROM organizations o
       JOIN organization_members m ON m.organization_id = o.organization_id AND m.character_id = o.leader_id
      WHERE o.organization_id = ?`,
    [organizationId],
  );
  if (org) return { leaderId: Number(org.leader_id) };
  const [next] = await conn.rows<{ character_id: number }>(
    'SELECT character_id FROM organization_members WHERE organization_id = ? ORDER BY rank_level DESC, join_date, character_id LIMIT 1',
    [organizationId],
  );
  const leaderId = Number(next!.character_id);
  await conn.exec('UPDATE organizations SET leader_id = ? WHERE organization_id = ?', [leaderId, organizationId]);
  return { leaderId };
}

/**
 * Removes characters from every crew and organization they belong to, settling each (counts,
 * captaincy, leadership). Call on global before deleting their directory rows. Locks the crews
 * and organizations in id order.
 */
export async function releaseMemberships(conn: PooledConnection, characterIds: number[]): Promise<void> {
  if (characterIds.length === 0) return;
  const { sql: marks, params: padded } = inList(characterIds);
  const crews = await conn.rows<{ crew_id: number }>(
    `SELECT crew_id FROM crews WHERE crew_id IN (SELECT crew_id FROM crew_members WHERE character_id IN ${marks})
      ORDER BY crew_id FOR UPDATE`,
    padded,
  );
  const orgs = await conn.rows<{ organization_id: number }>(
    `SELECT organization_id FROM organizations
      WHERE organization_id IN (SELECT organization_id FROM organization_members WHERE character_id IN ${marks})
      ORDER BY organization_id FOR UPDATE`,
    padded,
  );
  await conn.exec(`DELETE FROM crew_members WHERE character_id IN ${marks}`, padded);
  await conn.exec(`DELETE FROM organization_members WHERE character_id IN ${marks}`, padded);
  for (const c of crews) await settleCrew(conn, Number(c.crew_id));
  for (const o of orgs) await settleOrganization(conn, Number(o.organization_id));
}
