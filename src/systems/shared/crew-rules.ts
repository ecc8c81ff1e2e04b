import { ForbiddenError, InvalidStateError, NameTakenError, NotFoundError, RequirementError } from '../../errors.js';
import { errnoOf, ER_NO_REFERENCED_ROW, isDuplicateKey } from '../../pool/mysql-errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Router } from '../../routing/router.js';
import { recountCrew, settleCrew } from './memberships.js';

/**
 * Crew rules on global, shared by db.crews (src/systems/crews/crews.ts) and the older db.social.*Crew
 * calls (repositories never import each other). Inputs arrive validated. Members' counts are
 * recounted in every transaction that changes them. A crew's first mates are the seed's
 * 'lieutenant' position; a crew whose bank holds money is not disbanded by hand.
 */

/** A crew role as the game names it (first_mate is stored as the seed's 'lieutenant'). */
/** A new crew: the one crew input type (db.crews.create; db.social.createCrew is its deprecated alias). */
export interface CrewCreateInput {
  captainId: number;
  /** 3-64 characters. */
  crewName: string;
  description?: string;
}

export type CrewRole = 'captain' | 'first_mate' | 'member' | 'recruit';

export function roleOf(position: string): CrewRole {
  return position === 'lieutenant' ? 'first_mate' : (position as CrewRole);
}

export async function createCrew(router: Router, data: { captainId: number; crewName: string; description?: string }): Promise<number> {
  try {
    return await router.onGlobal('crew_create', async (conn) => {
      const header = await conn.exec('INSERT INTO crews (crew_name, captain_id, description, member_count) VALUES (?, ?, ?, 0)', [
        data.crewName,
        data.captainId,
        data.description ?? null,
      ]);
      const crewId = Number(header.insertId);
      await conn.exec("INSERT INTO crew_members (character_id, crew_id, position) VALUES (?, ?, 'captain')", [data.captainId, crewId]);
      await recountCrew(conn, crewId);
      return crewId;
    });
  } catch (error) {
    if (isDuplicateKey(error, 'crew_name')) throw new NameTakenError('crewName', data.crewName, { cause: error });
    throw crewMembershipError(error, data.captainId, 0);
  }
}

export async function joinCrew(router: Router, crew: number, cid: number): Promise<void> {
  try {
    await router.onGlobal('crew_join', async (conn) => {
      const row = await lockCrew(conn, crew);
      if (!row.recruitment_open) throw new RequirementError('recruitment', `crew ${crew} is not recruiting`);
      if (Number(row.member_count) >= Number(row.max_members)) throw new RequirementError('capacity', `crew ${crew} is full`);
      await conn.exec('INSERT INTO crew_members (character_id, crew_id) VALUES (?, ?)', [cid, crew]);
      await recountCrew(conn, crew);
    });
  } catch (error) {
    throw crewMembershipError(error, cid, crew);
  }
}

export async function leaveCrew(router: Router, crew: number, cid: number): Promise<{ captainId: number | null; disbanded: boolean }> {
  return router.onGlobal('crew_leave', async (conn) => {
    const row = await lockCrew(conn, crew);
    const header = await conn.exec('DELETE FROM crew_members WHERE crew_id = ? AND character_id = ?', [crew, cid]);
    if (header.affectedRows === 0) throw new NotFoundError('crew member', `${crew}/${cid}`);
    // The last one out would disband the crew with its bank: withdraw first.
    if (Number(row.member_count) <= 1) refuseNonEmptyBank(crew, row);
    return settleCrew(conn, crew);
  });
}

export async function kickFromCrew(router: Router, crew: number, captain: number, cid: number): Promise<void> {
  await router.onGlobal('crew_kick', async (conn) => {
    const row = await lockCrew(conn, crew);
    if (Number(row.captain_id) !== captain)
      throw new ForbiddenError('crew kick', `character ${captain} is not the captain of crew ${crew}`);
    if (cid === captain) throw new ForbiddenError('crew kick', 'the captain cannot kick themself; use leaveCrew');
    const header = await conn.exec('DELETE FROM crew_members WHERE crew_id = ? AND character_id = ?', [crew, cid]);
    if (header.affectedRows === 0) throw new NotFoundError('crew member', `${crew}/${cid}`);
    await settleCrew(conn, crew);
  });
}

export async function disbandCrew(router: Router, crew: number, captain: number): Promise<{ members: number }> {
  return router.onGlobal('crew_disband', async (conn) => {
    const row = await lockCrew(conn, crew);
    if (Number(row.captain_id) !== captain)
      throw new ForbiddenError('crew disband', `character ${captain} is not the captain of crew ${crew}`);
    refuseNonEmptyBank(crew, row);
    const header = await conn.exec('DELETE FROM crew_members WHERE crew_id = ?', [crew]);
    await conn.exec('DELETE FROM crews WHERE crew_id = ?', [crew]);
    return { members: header.affectedRows };
  });
}

/** The captain makes a member a first mate or a plain member again. */
export async function setCrewRole(
  router: Router,
  crew: number,
  captain: number,
  cid: number,
  role: 'first_mate' | 'member',
): Promise<void> {
  await router.onGlobal('crew_set_role', async (conn) => {
    const row = await lockCrew(conn, crew);
    if (Number(row.captain_id) !== captain)
      throw new ForbiddenError('crew role', `character ${captain} is not the captain of crew ${crew}`);
    if (cid === captain) throw new ForbiddenError('crew role', 'the captain keeps the captaincy until leaving the crew');
    const [member] = await conn.rows('SELECT position FROM crew_members WHERE crew_id = ? AND character_id = ? FOR UPDATE', [crew, cid]);
    if (!member) throw new NotFoundError('crew member', `${crew}/${cid}`);
    await conn.exec('UPDATE crew_members SET position = ? WHERE crew_id = ? AND character_id = ?', [
      role === 'first_mate' ? 'lieutenant' : 'member',
      crew,
      cid,
    ]);
  });
}

interface CrewLock {
  captain_id: number | null;
  member_count: number;
  max_members: number;
  recruitment_open: number;
  bank_amount: number | string;
}

export async function lockCrew(conn: PooledConnection, crew: number): Promise<CrewLock> {
  const [row] = await conn.rows<CrewLock>(
    'SELECT captain_id, member_count, max_members, recruitment_open, bank_amount FROM crews WHERE crew_id = ? FOR UPDATE',
    [crew],
  );
  if (!row) throw new NotFoundError('crew', crew);
  return row;
}

function refuseNonEmptyBank(crew: number, row: CrewLock): void {
  if (Number(row.bank_amount) > 0)
    throw new InvalidStateError(
      'crew',
      crew,
      'bank_not_empty',
      `crew ${crew} still holds ${row.bank_amount} in its bank; withdraw it first`,
    );
}

/** Driver errors of a crew membership insert as typed errors. */
function crewMembershipError(error: unknown, cid: number, crew: number): unknown {
  if (isDuplicateKey(error)) return new RequirementError('membership', `character ${cid} is already in a crew`);
  if (errnoOf(error) === ER_NO_REFERENCED_ROW) return new NotFoundError('character or crew', `${cid}/${crew}`, { cause: error });
  return error;
}
