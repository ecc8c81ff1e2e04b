import { InvalidStateError, NotFoundError } from '../../errors.js';
import type { Consistency } from '../../routing/read-router.js';
import type { Router } from '../../routing/router.js';

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
