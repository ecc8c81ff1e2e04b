import type { Router } from '../../routing/router.js';
import type { Consistency } from '../../routing/read-router.js';

/**
 * The login roster (contract part four): an account's live characters as the client's character
 * list carries them (Reality AuthSocket.cpp:523 `SELECT charId, worldId, status, handle`; mxo-hd
 * MyAuthDbAccess.cs:56), in ONE statement on global. Everything comes from the directory, which
 * the writers keep in step with the shard rows in the same two-phase commit: district_id (create,
 * moveToDistrict, hardline moves), world_id (create, worlds.assignCharacter), character_status
 * (create, setProfile({ status })); a soft delete (deleted_at) or archive takes the character off.
 */
export interface RosterEntry {
  characterId: number;
  /** The handle (character_name). */
  name: string;
  /** The world the character belongs to; null until one is assigned (worlds.assignCharacter). */
  worldId: number | null;
  /**
   * The client's character status byte (characters.character_status: 0 ok; the emulators'
   * "in transit" / "banned" codes are the server's to choose), as set with characters.setProfile.
   */
  status: number;
  districtId: number;
}

interface RosterRow {
  character_id: number;
  character_name: string;
  world_id: number | null;
  character_status: number;
  district_id: number;
}

/** Reads the roster of `accountId` (validated by the caller) in one statement, oldest character first. */
export async function readRoster(router: Router, accountId: number, consistency: Consistency): Promise<RosterEntry[]> {
  const rows = await router.readGlobal('character_roster', consistency, (conn) =>
    conn.rows<RosterRow>(
      `SELECT character_id, character_name, world_id, character_status, district_id FROM character_directory
        WHERE account_id = ? AND deleted_at IS NULL ORDER BY character_id`,
      [accountId],
    ),
  );
  return rows.map((r) => ({
    characterId: Number(r.character_id),
    name: r.character_name,
    worldId: r.world_id === null ? null : Number(r.world_id),
    status: Number(r.character_status),
    districtId: Number(r.district_id),
  }));
}
