import type { PooledConnection } from '../../pool/pooled-connection.js';

/** The seven reputations the client shows (character_reputations.organization, shard 082). */
export const REPUTATION_ORGANIZATIONS = ['zion_military', 'machines', 'merovingian', 'niobe', 'epn', 'cypherites', 'gm'] as const;
export type ReputationOrganization = (typeof REPUTATION_ORGANIZATIONS)[number];

/** The profile's reputations: every one of the seven (0 when never changed) and the CQ points. */
export interface Reputations {
  reputations: Record<ReputationOrganization, number>;
  cqPoints: number;
}

/** A character's reputations and CQ points on its shard; undefined when the character is not here. */
export async function readReputations(conn: PooledConnection, characterId: number): Promise<Reputations | undefined> {
  const rows = await conn.rows<{ cq_points: number; organization: ReputationOrganization | null; points: number | null }>(
    `SELECT c.cq_points, r.organization, r.points
       FROM characters c LEFT JOIN character_reputations r ON r.character_id = c.character_id
      WHERE c.character_id = ?`,
    [characterId],
  );
  if (rows.length === 0) return undefined;
  const reputations = Object.fromEntries(REPUTATION_ORGANIZATIONS.map((o) => [o, 0])) as Record<ReputationOrganization, number>;
  for (const r of rows) if (r.organization) reputations[r.organization] = Number(r.points);
  return { reputations, cqPoints: Number(rows[0]!.cq_points) };
}

/** Adds `delta` to one reputation, held within the client's 16-bit field (-32,768 .. 32,767); returns the new points. */
export async function adjustReputationRow(
  conn: PooledConnection,
  characterId: number,
  organization: ReputationOrganization,
  delta: number,
): Promise<number> {
  await conn.exec(
    `INSERT INTO character_reputations (character_id, organization, points) VALUES (?, ?, GREATEST(-32768, LEAST(32767, ?)))
     ON DUPLICATE KEY UPDATE points = GREATEST(-32768, LEAST(32767, CAST(points AS SIGNED) + ?))`,
    [characterId, organization, delta, delta],
  );
  const [row] = await conn.rows<{ points: number }>(
    'SELECT points FROM character_reputations WHERE character_id = ? AND organization = ?',
    [characterId, organization],
  );
  return Number(row!.points);
}
