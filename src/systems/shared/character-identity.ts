import { z } from 'zod';
import { schemaFor, type Same } from '../../validate.js';
import { InvalidStateError, NameTakenError, NotFoundError, PresenceHeldError, StaleRouteError, ValidationError } from '../../errors.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import type { Router } from '../../routing/router.js';
import { GLOBAL } from '../../routing/topology.js';
import * as limits from './client-limits.js';
import { utf8Bytes } from './fields.js';
import { releaseMemberships } from './memberships.js';
import { unfenced } from './write-options.js';

/**
 * Character identity as the client sees it (issue 18): two-step creation (name reservations on
 * global), lookup by name, soft delete, appearance (RSI) and profile. Tables: global
 * character_name_reservations and character_directory (052), shard characters (052).
 */

/** @internal Same rule as characters.create: the client's handle ({@link limits.handle}: single-byte, no spaces, at most 31 bytes). */
export const characterName = limits.handle;

/** The client's RSI (appearance) fields; all small unsigned numbers. */
export const APPEARANCE_FIELDS = [
  'sex',
  'body',
  'face',
  'hair',
  'hairColor',
  'skinTone',
  'tattoo',
  'facialDetail',
  'facialDetailColor',
  ...(['hat', 'glasses', 'shirt', 'gloves', 'coat', 'pants', 'leggings', 'shoes'] as const).flatMap((part) => [
    `${part}Model` as const,
    `${part}Color` as const,
  ]),
] as const;
export type AppearanceField = (typeof APPEARANCE_FIELDS)[number];
/** A character's appearance (RSI): each field within the client's bits for the sex (client-limits.ts RSI_BITS; sex 0 or 1). */
export type Appearance = { [K in AppearanceField]?: number };

const rsiValue = z.number().int().min(0).max(65_535);
/** @internal Each field within its RSI width: for the sex given with it, else the wider of the two (merge checks the stored sex). */
export const appearanceSchema = z
  .object(Object.fromEntries(APPEARANCE_FIELDS.map((f) => [f, (f === 'sex' ? z.number().int().min(0).max(1) : rsiValue).optional()])))
  .strict()
  .refine((a) => Object.values(a).some((v) => v !== undefined), 'at least one appearance field')
  .superRefine((a, ctx) => {
    for (const issue of limits.rsiIssues(a, a.sex as number | undefined))
      ctx.addIssue({ code: 'custom', path: [issue.field], message: issue.message });
  }) as unknown as z.ZodType<Appearance>;

/** The profile the client shows. */
export interface CharacterProfile {
  firstName?: string | null;
  lastName?: string | null;
  background?: string | null;
  profession?: number;
  alignment?: number;
  cqPoints?: number;
  status?: number;
}

const int32 = z.number().int().min(-2_147_483_648).max(2_147_483_647).optional();
/** @internal */
export const profileSchema = z
  .object({
    firstName: limits.clientName.nullable().optional(),
    lastName: limits.clientName.nullable().optional(),
    background: limits.background.nullable().optional(),
    // The client's TitleAbility (a u32; characters.profession is a signed INT).
    profession: z.number().int().min(0).max(2_147_483_647).optional(),
    // The client's OrganizationID byte: 0 none, 1 Zion, 2 Machines, 3 Merovingian (characters.faction follows).
    alignment: limits.u8.optional(),
    cqPoints: z.number().int().min(0).max(2_147_483_647).optional(),
    status: int32,
  })
  .strict()
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'at least one profile field');

/** The client's alignment codes (mxo-hd FCPackets: 1 Zion, 2 Machines, 3 Merovingian; 0 none) and the seed's faction. */
export const ALIGNMENT_OF_FACTION = { neutral: 0, zion: 1, machine: 2, merovingian: 3 } as const;
/** faction for the alignment bound as one parameter; other codes keep the faction. */
const FACTION_OF_ALIGNMENT_SQL =
  "CASE ? WHEN 0 THEN 'neutral' WHEN 1 THEN 'zion' WHEN 2 THEN 'machine' WHEN 3 THEN 'merovingian' ELSE faction END";

const PROFILE_COLUMN: Record<keyof CharacterProfile, string> = {
  firstName: 'first_name',
  lastName: 'last_name',
  background: 'background',
  profession: 'profession',
  alignment: 'alignment',
  cqPoints: 'cq_points',
  status: 'character_status',
};

/** Where a name lives, from the directory (one read on global). */
export interface NamedCharacter {
  characterId: number;
  accountId: number;
  shard: string;
  districtId: number;
  worldId: number | null;
}

/** Locks a character's row on its shard; StaleRouteError when it is elsewhere, NotFoundError when soft-deleted. */
export async function lockLiveCharacter(conn: PooledConnection, characterId: number, shard: string): Promise<void> {
  const [row] = await conn.rows<{ deleted_at: Date | null }>('SELECT deleted_at FROM characters WHERE character_id = ? FOR UPDATE', [
    characterId,
  ]);
  if (!row) throw new StaleRouteError(characterId, shard);
  if (row.deleted_at) throw new NotFoundError('character', characterId);
}

/** Live name reservations one account may hold at once (issue 23: they were unlimited). */
export const MAX_NAME_RESERVATIONS = 3;

/**
 * Step one of creation: holds `name` for `accountId` until NOW(6) + ttl, with the id the character
 * will have (mxo-hd's name reply carries it); NameTakenError when used or held by another
 * account; InvalidStateError (state `reservation_limit`) when the account already holds
 * {@link MAX_NAME_RESERVATIONS} other live reservations. Renewing the account's own reservation
 * keeps its id; a name taken over after it lapsed gets a new one.
 */
export async function reserveName(
  router: Router,
  accountId: number,
  name: string,
  ttlSec: number,
): Promise<{ name: string; characterId: number; expiresAt: Date }> {
  try {
    return await router.onGlobal('character_reserve_name', async (global) => {
      // FOR UPDATE: the account's reservations are counted and added one call at a time.
      const [account] = await global.rows('SELECT account_id FROM accounts WHERE account_id = ? FOR UPDATE', [accountId]);
      if (!account) throw new NotFoundError('account', accountId);
      const [holding] = await global.rows<{ n: number }>(
        'SELECT COUNT(*) AS n FROM character_name_reservations WHERE account_id = ? AND expires_at > NOW(6) AND character_name <> ?',
        [accountId, name],
      );
      if (Number(holding!.n) >= MAX_NAME_RESERVATIONS) {
        throw new InvalidStateError(
          'account',
          accountId,
          'reservation_limit',
          `account ${accountId} already holds ${MAX_NAME_RESERVATIONS} live name reservations (create a character or let one lapse)`,
        );
      }
      const [used] = await global.rows('SELECT character_id FROM character_directory WHERE character_name = ? LOCK IN SHARE MODE', [name]);
      if (used) throw new NameTakenError('name', name);
      const [held] = await global.rows<{ account_id: number; live: number; character_id: number | null }>(
        'SELECT account_id, expires_at > NOW(6) AS live, character_id FROM character_name_reservations WHERE character_name = ? FOR UPDATE',
        [name],
      );
      if (held && Number(held.live) && Number(held.account_id) !== accountId) throw new NameTakenError('name', name);
      // The account's own reservation (live or lapsed, not yet purged) keeps the id it promised;
      // otherwise the directory hands out the next one (unique cluster-wide, as at create).
      const characterId =
        held && Number(held.account_id) === accountId && held.character_id !== null
          ? Number(held.character_id)
          : await router.directory.reserveId(global, accountId);
      await global.exec(
        `INSERT INTO character_name_reservations (character_name, account_id, expires_at, character_id)
         VALUES (?, ?, NOW(6) + INTERVAL ? SECOND, ?)
         ON DUPLICATE KEY UPDATE character_name = VALUES(character_name), account_id = VALUES(account_id),
                                 expires_at = VALUES(expires_at), character_id = VALUES(character_id)`,
        [name, accountId, ttlSec, characterId],
      );
      const [row] = await global.rows<{ expires_at: Date }>('SELECT expires_at FROM character_name_reservations WHERE character_name = ?', [
        name,
      ]);
      return { name, characterId, expiresAt: row!.expires_at };
    });
  } catch (error) {
    if (isDuplicateKey(error)) throw new NameTakenError('name', name, { cause: error });
    throw error;
  }
}

/** What characters.create creates under: the name, and the id a reservation promised (if any). */
export interface ClaimedName {
  name: string;
  characterId: number | undefined;
}

/**
 * For characters.create, in its global branch: uses up the creator's reservation of the name.
 *
 * With `characterId` (the id reserveName returned): it must be reserved, live, by this account,
 * for `name` when one is given (the reserved name otherwise); InvalidStateError otherwise (state
 * `not_reserved`, or `reservation_expired`), and the caller's transaction writes nothing.
 * Without: refuses a name another account holds a live reservation for; the creator's own
 * reservation, if any, gives its id.
 */
export async function claimReservedName(
  global: PooledConnection,
  accountId: number,
  name: string | undefined,
  characterId?: number,
): Promise<ClaimedName> {
  if (characterId !== undefined) {
    const [held] = await global.rows<{ character_name: string; account_id: number; live: number; same_name: number }>(
      `SELECT character_name, account_id, expires_at > NOW(6) AS live, character_name = ? AS same_name
         FROM character_name_reservations WHERE character_id = ? FOR UPDATE`,
      [name ?? null, characterId],
    );
    // Names compare as the directory does (its collation: case-insensitive).
    if (!held || Number(held.account_id) !== accountId || (name !== undefined && !Number(held.same_name)))
      throw new InvalidStateError(
        'character',
        characterId,
        'not_reserved',
        `character id ${characterId} is not reserved by account ${accountId}${name === undefined ? '' : ` for "${name}"`} (reserveName gives it)`,
      );
    if (!Number(held.live))
      throw new InvalidStateError(
        'character',
        characterId,
        'reservation_expired',
        `the reservation of character id ${characterId} has expired`,
      );
    await global.exec('DELETE FROM character_name_reservations WHERE character_id = ?', [characterId]);
    return { name: held.character_name, characterId };
  }
  if (name === undefined) throw new ValidationError('character input', [{ field: 'name', message: 'required without characterId' }]);
  const [held] = await global.rows<{ account_id: number; live: number; character_id: number | null }>(
    'SELECT account_id, expires_at > NOW(6) AS live, character_id FROM character_name_reservations WHERE character_name = ? FOR UPDATE',
    [name],
  );
  if (!held) return { name, characterId: undefined };
  const own = Number(held.account_id) === accountId;
  if (Number(held.live) && !own) throw new NameTakenError('name', name);
  await global.exec('DELETE FROM character_name_reservations WHERE character_name = ?', [name]);
  // The reply to the name check told the client this id: keep the promise.
  return { name, characterId: own && held.character_id !== null ? Number(held.character_id) : undefined };
}

/** A live character by name (soft-deleted ones have given their name up), from the directory. */
export async function findByName(router: Router, name: string): Promise<NamedCharacter | null> {
  const [row] = await router.readGlobal('character_find_by_name', 'session', (conn) =>
    conn.rows<{ character_id: number; account_id: number; shard_name: string; district_id: number; world_id: number | null }>(
      `SELECT character_id, account_id, shard_name, district_id, world_id FROM character_directory
        WHERE character_name = ? AND deleted_at IS NULL`,
      [name],
    ),
  );
  if (!row) return null;
  return {
    characterId: Number(row.character_id),
    accountId: Number(row.account_id),
    shard: row.shard_name,
    districtId: Number(row.district_id),
    worldId: row.world_id === null ? null : Number(row.world_id),
  };
}

/**
 * Soft delete in one two-phase commit: the shard row keeps everything but gives its name up
 * ('~<id>', the old name in deleted_name); the directory row stays (routes still resolve) with the
 * same placeholder name; crew and organization memberships are released. Refused while the
 * character is in the world (a live presence claim).
 */
export async function softDelete(router: Router, characterId: number): Promise<void> {
  await router.onCharacter(
    'character_delete',
    characterId,
    async (conn, route, tx) => {
      await lockLiveCharacter(conn, characterId, route.shard);
      const global = await tx.branch(GLOBAL);
      const [claim] = await global.rows<{ server_id: string; district_id: number | null; expires_at: Date }>(
        'SELECT server_id, district_id, expires_at FROM presence_claims WHERE character_id = ? AND server_id IS NOT NULL AND expires_at > NOW(6) FOR UPDATE',
        [characterId],
      );
      if (claim)
        throw new PresenceHeldError(characterId, { serverId: claim.server_id, districtId: claim.district_id, expiresAt: claim.expires_at });
      const placeholder = `~${characterId}`;
      await conn.exec(
        `UPDATE characters SET deleted_at = CURRENT_TIMESTAMP, deleted_name = character_name, character_name = ?, is_online = FALSE
          WHERE character_id = ?`,
        [placeholder, characterId],
      );
      const header = await global.exec(
        'UPDATE character_directory SET character_name = ?, deleted_at = NOW(6) WHERE character_id = ? AND deleted_at IS NULL',
        [placeholder, characterId],
      );
      if (header.affectedRows !== 1) throw new InvalidStateError('character', characterId, 'deleted');
      await releaseMemberships(global, [characterId]);
    },
    { ...unfenced('refused while a claim is live'), withGlobal: true },
  );
  router.directory.invalidate(characterId);
}

/** Merges `patch` into the character's appearance; returns the appearance as stored. */
export async function mergeAppearance(router: Router, characterId: number, patch: Appearance): Promise<Appearance> {
  return router.onCharacter('character_set_appearance', characterId, async (conn, route) => {
    await lockLiveCharacter(conn, characterId, route.shard);
    await conn.exec('UPDATE characters SET appearance_data = JSON_MERGE_PATCH(appearance_data, ?) WHERE character_id = ?', [
      JSON.stringify(patch),
      characterId,
    ]);
    const [row] = await conn.rows<{ appearance_data: string | Record<string, unknown>; gender: string }>(
      'SELECT appearance_data, gender FROM characters WHERE character_id = ?',
      [characterId],
    );
    const merged = pickAppearance(row!.appearance_data);
    // The patch was checked against the wider sex; the whole against the stored one (rolls back).
    const issues = limits.rsiIssues(merged, merged.sex ?? (row!.gender === 'female' ? 1 : 0));
    if (issues.length > 0) throw new ValidationError('appearance', issues);
    return merged;
  });
}

/**
 * Writes the given profile fields; returns the whole profile. A status change is written to the
 * directory too (character_directory.character_status, what the login roster reads), in the same
 * two-phase commit; other fields touch the shard only.
 */
export async function writeProfile(router: Router, characterId: number, profile: CharacterProfile): Promise<Required<CharacterProfile>> {
  const entries = Object.entries(profile).filter(([, v]) => v !== undefined) as Array<[keyof CharacterProfile, unknown]>;
  const status = profile.status;
  return router.onCharacter(
    'character_set_profile',
    characterId,
    async (conn, route, tx) => {
      await lockLiveCharacter(conn, characterId, route.shard);
      // One idea, two columns: the seed's faction follows the client's alignment code (0 none .. 3).
      const sets = entries.map(([k]) => `${PROFILE_COLUMN[k]} = ?`);
      if (profile.alignment !== undefined) sets.push(`faction = ${FACTION_OF_ALIGNMENT_SQL}`);
      await conn.exec(`UPDATE characters SET ${sets.join(', ')} WHERE character_id = ?`, [
        ...entries.map(([, v]) => v),
        ...(profile.alignment !== undefined ? [profile.alignment] : []),
        characterId,
      ]);
      if (status !== undefined) {
        // The roster reads the status from the directory: both in this two-phase commit.
        const global = await tx.branch(GLOBAL);
        await global.exec('UPDATE character_directory SET character_status = ? WHERE character_id = ?', [status, characterId]);
      }
      return (await readProfileRow(conn, characterId))!;
    },
    status !== undefined ? { withGlobal: true } : {},
  );
}

/** The profile of a live character on this shard; undefined when the row is not here. */
export async function readProfileRow(conn: PooledConnection, characterId: number): Promise<Required<CharacterProfile> | undefined> {
  const [row] = await conn.rows<Record<string, unknown>>(
    `SELECT first_name, last_name, background, profession, alignment, cq_points, character_status, deleted_at
       FROM characters WHERE character_id = ?`,
    [characterId],
  );
  if (!row) return undefined;
  if (row.deleted_at) throw new NotFoundError('character', characterId);
  return {
    firstName: (row.first_name as string | null) ?? null,
    lastName: (row.last_name as string | null) ?? null,
    background: (row.background as string | null) ?? null,
    profession: Number(row.profession),
    alignment: Number(row.alignment),
    cqPoints: Number(row.cq_points),
    status: Number(row.character_status),
  };
}

/** The typed RSI fields of an appearance_data value (other keys are left out). */
export function pickAppearance(raw: string | Record<string, unknown>): Appearance {
  const data = typeof raw === 'string' ? (JSON.parse(raw) as Record<string, unknown>) : raw;
  const out: Appearance = {};
  for (const f of APPEARANCE_FIELDS) if (typeof data[f] === 'number') out[f] = data[f] as number;
  return out;
}

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [Same<z.input<typeof profileSchema>, CharacterProfile>] = [true];
void agrees;
