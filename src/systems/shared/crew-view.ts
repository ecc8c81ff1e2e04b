import type { PooledConnection } from '../../pool/pooled-connection.js';
import { roleOf, type CrewRole } from './crew-rules.js';

/**
 * A crew as the client's crew window shows it (mxo-hd MyWorldDbAccess: crew name, captain,
 * money, faction, members with handle, role and online status), read in ONE statement on global:
 * the crew row and its members (names from the directory, online from live presence claims) as
 * a UNION ALL. Used by crews.byName, crews.ofCharacter and characters.spawn.
 */
export interface CrewView {
  crewId: number;
  name: string;
  captainId: number | null;
  /** The faction (organization) the crew belongs to, if any. */
  organizationId: number | null;
  /** The crew bank. */
  money: number;
  members: Array<{ characterId: number; name: string; role: CrewRole; online: boolean }>;
}

/** Which crew: by its name (case-insensitive, the column's collation) or by a member. */
export type CrewKey = { name: string } | { characterId: number };

const CREW_JSON = `JSON_OBJECT('crew_id', c.crew_id, 'crew_name', c.crew_name, 'captain_id', c.captain_id,
            'organization_id', c.organization_id, 'bank_amount', c.bank_amount)`;
const MEMBER_JSON = `JSON_OBJECT('character_id', m.character_id, 'name', d.character_name, 'position', m.position,
            'online', p.character_id IS NOT NULL)`;
/**
 * The members with their names and live presence claims: a join, not a correlated EXISTS per
 * member (a claim's key is the character, so at most one row joins).
 */
const MEMBERS = `JOIN crew_members m ON m.crew_id = c.crew_id JOIN character_directory d ON d.character_id = m.character_id
       LEFT JOIN presence_claims p ON p.character_id = m.character_id AND p.server_id IS NOT NULL AND p.expires_at > NOW(6)`;

/**
 * The statement's parts for the crew `crewWhere` selects (a condition on `c`, one `?`): one
 * 'crew' row, then a 'crew_member' row per member, each a JSON object `j`, ordered by `k`.
 */
export function crewParts(crewWhere: string, ord: number): string {
  return `SELECT 'crew' AS part, ${ord} AS ord, ${CREW_JSON} AS j, 0 AS k
       FROM crews c WHERE ${crewWhere}
     UNION ALL
     SELECT 'crew_member', ${ord + 1}, ${MEMBER_JSON}, m.character_id
       FROM crews c ${MEMBERS}
      WHERE ${crewWhere}`;
}

/**
 * The same parts for the crews of several characters at once (characters.spawn's global
 * statement): each row starts with the character whose crew it is (`me`), then the columns of
 * {@link crewParts}. `memberIn` is the IN-list of those characters (`(?, ?)`), bound twice.
 */
export function crewPartsOfMembers(memberIn: string, ord: number): string {
  return `SELECT me.character_id, 'crew', ${ord}, ${CREW_JSON}, 0
       FROM crew_members me JOIN crews c ON c.crew_id = me.crew_id WHERE me.character_id IN ${memberIn}
     UNION ALL
     SELECT me.character_id, 'crew_member', ${ord + 1}, ${MEMBER_JSON}, m.character_id
       FROM crew_members me JOIN crews c ON c.crew_id = me.crew_id ${MEMBERS}
      WHERE me.character_id IN ${memberIn}`;
}

/** The condition `crewParts` takes for a key (its one parameter is the key's value). */
export function crewWhere(key: CrewKey): { where: string; param: string | number } {
  return 'name' in key
    ? { where: 'c.crew_name = ?', param: key.name }
    : { where: 'c.crew_id = (SELECT crew_id FROM crew_members WHERE character_id = ?)', param: key.characterId };
}

/** One statement on global; null when there is no such crew (or the character is in none). */
export async function readCrewView(conn: PooledConnection, key: CrewKey): Promise<CrewView | null> {
  const { where, param } = crewWhere(key);
  const rows = await conn.rows<{ part: string; j: unknown }>(`${crewParts(where, 0)} ORDER BY ord, k`, [param, param]);
  return crewViewOf(rows.map((r) => ({ part: r.part, j: parseJson(r.j) })));
}

/** Builds the view from the parts' rows ('crew' first); null when there is no 'crew' row. */
export function crewViewOf(rows: Array<{ part: string; j: Record<string, unknown> }>): CrewView | null {
  const crew = rows.find((r) => r.part === 'crew')?.j;
  if (!crew) return null;
  return {
    crewId: Number(crew.crew_id),
    name: String(crew.crew_name),
    captainId: crew.captain_id === null ? null : Number(crew.captain_id),
    organizationId: crew.organization_id === null ? null : Number(crew.organization_id),
    money: Number(crew.bank_amount),
    members: rows
      .filter((r) => r.part === 'crew_member')
      .map(({ j }) => ({
        characterId: Number(j.character_id),
        name: String(j.name),
        role: roleOf(String(j.position)),
        online: j.online === true || Number(j.online) === 1,
      })),
  };
}

export function parseJson(value: unknown): Record<string, unknown> {
  return (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown>;
}
