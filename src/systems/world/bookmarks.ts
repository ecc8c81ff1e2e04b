import { z } from 'zod';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { unfenced } from '../shared/write-options.js';
import { parseInput, schemaFor } from '../../validate.js';
import { clientName, clientPosition, yaw } from '../shared/client-limits.js';
import type { RepoContext } from '../shared/context.js';
import { districtId, id } from '../shared/fields.js';

/**
 * GM bookmarks (Reality's `@bookmark NAME` / `@gotomark NAME`): named places per character, in
 * character_bookmarks on the character's shard (they move with it: src/schema/character-rows.ts).
 */

/** A named place. */
export interface Bookmark {
  name: string;
  districtId: number;
  position: { x: number; y: number; z: number };
  yaw: number;
}

/** What {@link World.setBookmark} stores under a name. */
export interface BookmarkPlace {
  districtId: number;
  position: { x: number; y: number; z: number };
  yaw?: number;
}

const bookmarkName = clientName.min(1, 'must not be empty');
const placeInput = schemaFor<BookmarkPlace>()(z.object({ districtId, position: clientPosition, yaw: yaw.default(0) }).strict());

/** Stores (or replaces) a bookmark; the district must be one the cluster owns (UnknownDistrictError). */
export async function setBookmark(ctx: RepoContext, characterId: number, name: string, place: BookmarkPlace): Promise<Bookmark> {
  const cid = parseInput(id, characterId, 'character id');
  const n = parseInput(bookmarkName, name, 'bookmark name');
  const p = parseInput(placeInput, place, 'bookmark');
  ctx.router.topology.shardOfDistrict(p.districtId);
  await ctx.router.onCharacter(
    'bookmark_set',
    cid,
    async (conn) => {
      await conn.exec(
        `INSERT INTO character_bookmarks (character_id, bookmark_name, district_id, position_x, position_y, position_z, yaw)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE district_id = VALUES(district_id), position_x = VALUES(position_x), position_y = VALUES(position_y),
         position_z = VALUES(position_z), yaw = VALUES(yaw)`,
        [cid, n, p.districtId, p.position.x, p.position.y, p.position.z, p.yaw],
      );
    },
    unfenced('a GM bookmark, not game state'),
  );
  return { name: n, districtId: p.districtId, position: p.position, yaw: p.yaw };
}

/** A character's bookmarks, by name. */
export async function listBookmarks(ctx: RepoContext, characterId: number, options: { consistency?: Consistency }): Promise<Bookmark[]> {
  const cid = parseInput(id, characterId, 'character id');
  const rows = await ctx.router.readCharacter('bookmarks', cid, consistencyOf(options, 'session'), async (conn) => {
    // Joined from characters: no row at all means the character is not on this shard.
    const joined = await conn.rows<Record<string, unknown>>(
      `SELECT b.bookmark_name, b.district_id, b.position_x, b.position_y, b.position_z, b.yaw
         FROM characters c LEFT JOIN character_bookmarks b ON b.character_id = c.character_id
        WHERE c.character_id = ? ORDER BY b.bookmark_name`,
      [cid],
    );
    return joined.length === 0 ? undefined : joined.filter((r) => r.bookmark_name !== null);
  });
  return rows.map((r) => ({
    name: String(r.bookmark_name),
    districtId: Number(r.district_id),
    position: { x: Number(r.position_x), y: Number(r.position_y), z: Number(r.position_z) },
    yaw: Number(r.yaw),
  }));
}
