import { InvalidStateError, NotFoundError, RequirementError } from '../../errors.js';
import type { Consistency } from '../../routing/read-router.js';
import type { Router } from '../../routing/router.js';
import { recountOrganization } from '../shared/memberships.js';

/**
 * Factions made of crews (global): a crew belongs to at most one organization
 * (crews.organization_id). Organization then crew are locked, in that order, on every path.
 */
export async function addCrewToOrganization(router: Router, org: number, crew: number): Promise<{ added: boolean }> {
  return router.onGlobal('organization_add_crew', async (conn) => {
    const [o] = await conn.rows<{ is_active: number }>('SELECT is_active FROM organizations WHERE organization_id = ? FOR UPDATE', [org]);
    if (!o) throw new NotFoundError('organization', org);
    if (!Number(o.is_active)) throw new InvalidStateError('organization', org, 'inactive');
    const [c] = await conn.rows<{ organization_id: number | null }>('SELECT organization_id FROM crews WHERE crew_id = ? FOR UPDATE', [
      crew,
    ]);
    if (!c) throw new NotFoundError('crew', crew);
    if (c.organization_id !== null && Number(c.organization_id) === org) return { added: false };
    if (c.organization_id !== null)
      throw new InvalidStateError('crew', crew, 'in_organization', `crew ${crew} already belongs to organization ${c.organization_id}`);
    await conn.exec('UPDATE crews SET organization_id = ? WHERE crew_id = ?', [org, crew]);
    return { added: true };
  });
}

export async function removeCrewFromOrganization(router: Router, org: number, crew: number): Promise<void> {
  await router.onGlobal('organization_remove_crew', async (conn) => {
    await conn.rows('SELECT organization_id FROM organizations WHERE organization_id = ? FOR UPDATE', [org]);
    const header = await conn.exec('UPDATE crews SET organization_id = NULL WHERE crew_id = ? AND organization_id = ?', [crew, org]);
    if (header.affectedRows === 0) throw new NotFoundError('organization crew', `${org}/${crew}`);
  });
}

/** The crews of an organization, by id. */
export async function crewsOfOrganization(router: Router, org: number, consistency: Consistency): Promise<number[]> {
  const rows = await router.readGlobal('organization_crews', consistency, (conn) =>
    conn.rows<{ crew_id: number }>('SELECT crew_id FROM crews WHERE organization_id = ? ORDER BY crew_id', [org]),
  );
  return rows.map((r) => Number(r.crew_id));
}

/**
 * A faction as the emulators found one (mxo-hd MyWorldDbAccess, "faction from two crews"): an
 * organization with `masterId` (a captain of one of the crews) as its leader and every crew in
 * it, in one transaction on global. Crews are locked in id order; a crew already in a faction,
 * a master who captains none of them or is in an organization already refuse it, changing nothing.
 */
export async function createOrganizationFromCrews(
  router: Router,
  data: { name: string; crewIds: number[]; masterId: number; faction: 'zion' | 'machine' | 'merovingian' },
  leaderPermissions: number,
): Promise<number> {
  return router.onGlobal('organization_create_from_crews', async (conn) => {
    const crews: Array<{ crew_id: number; organization_id: number | null; captain_id: number | null }> = [];
    for (const crew of [...data.crewIds].sort((a, b) => a - b)) {
      const [row] = await conn.rows<{ crew_id: number; organization_id: number | null; captain_id: number | null }>(
        'SELECT crew_id, organization_id, captain_id FROM crews WHERE crew_id = ? FOR UPDATE',
        [crew],
      );
      if (!row) throw new NotFoundError('crew', crew);
      if (row.organization_id !== null)
        throw new InvalidStateError('crew', crew, 'in_organization', `crew ${crew} already belongs to organization ${row.organization_id}`);
      crews.push(row);
    }
    if (!crews.some((c) => Number(c.captain_id) === data.masterId))
      throw new RequirementError('master', `character ${data.masterId} captains none of crews ${data.crewIds.join(', ')}`);
    const header = await conn.exec('INSERT INTO organizations (organization_name, faction, leader_id, member_count) VALUES (?, ?, ?, 0)', [
      data.name,
      data.faction,
      data.masterId,
    ]);
    const org = Number(header.insertId);
    await conn.exec(
      "INSERT INTO organization_members (character_id, organization_id, rank_name, rank_level, permissions) VALUES (?, ?, 'Master', 127, ?)",
      [data.masterId, org, leaderPermissions],
    );
    await conn.exec(`UPDATE crews SET organization_id = ? WHERE crew_id IN (${crews.map(() => '?').join(', ')})`, [
      org,
      ...crews.map((c) => c.crew_id),
    ]);
    await recountOrganization(conn, org);
    return org;
  });
}
