import { z } from 'zod';
import { ForbiddenError, HandoffInvalidError, NotFoundError, PresenceLostError } from '../../errors.js';
import type { Consistency } from '../../routing/read-router.js';
import { consistencyOf } from '../../routing/consistency.js';
import { GLOBAL } from '../../routing/topology.js';
import { lockLiveCharacter } from '../shared/character-identity.js';
import {
  dropClaim,
  lockClaim,
  markOffline,
  markOnline,
  newTicket,
  releaseClaims,
  refuseIfHeldElsewhere,
  takeClaim,
  ticketHash,
  type ClaimResult,
} from './presence-claims.js';
import { parseInput, schemaFor } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { moveCharacter, type MoveResult } from '../shared/character-move.js';
import { refuseRestrictedCharacter } from '../shared/account-access.js';
import { unfenced, type SetOnlineOptions } from '../shared/write-options.js';
import { id } from '../shared/fields.js';
export type { SetOnlineOptions } from '../shared/write-options.js';
import { inList } from '../../pool/in-list.js';

/** A district server taking a character into its world. */
export interface PresenceClaimInput {
  /** The district server's name (1-64 characters). */
  serverId: string;
  /** A configured district (0 is the tutorial). */
  districtId: number;
  /** Seconds until the claim expires without a heartbeat (1-3600, default 30). */
  ttlSec?: number;
}

/** A held claim: writes under it carry `fencingToken`; it lapses at `expiresAt` (the database's clock). */
export type PresenceClaim = ClaimResult;

/** Where a character is in the world right now. */
export interface PresenceLocation {
  characterId: number;
  serverId: string;
  districtId: number;
  expiresAt: Date;
}

/** A one-time ticket for world entry (character select -> district server). */
export interface HandoffInput {
  accountId: number;
  characterId: number;
  /** The district server that will consume it. */
  serverId: string;
  districtId: number;
  /** Seconds the ticket stays valid (1-600, default 60). */
  ttlSec?: number;
  /** For a move between servers: the current holder's token; consuming the ticket then takes that claim over. */
  fencingToken?: number;
}

/** What a district server learns from a consumed ticket, with its new claim. */
export interface HandoffResult {
  accountId: number;
  characterId: number;
  districtId: number;
  claim: PresenceClaim;
}

/** A world-entry ticket not yet consumed, as {@link Presence.pendingHandoff} finds it. */
export interface PendingHandoff {
  accountId: number;
  characterId: number;
  districtId: number;
  expiresAt: Date;
}

const token = z.number().int().positive();

/** The server id `characters.setOnline` claims under when the caller names none. */
export const LEGACY_ONLINE_SERVER = 'set-online';

const setOnlineOptions = z
  .object({
    serverId: z.string().min(1).max(64).optional(),
    fencingToken: token.optional(),
    ttlSec: z.number().int().min(1).max(3600).default(3600),
  })
  .strict();
const serverId = z.string().min(1).max(64);
const district = z.number().int().min(0).max(2_147_483_647);
const claimInput = schemaFor<PresenceClaimInput>()(
  z.object({ serverId, districtId: district, ttlSec: z.number().int().min(1).max(3600).default(30) }).strict(),
);
const handOverInput = z.object({ serverId, districtId: district, ttlSec: z.number().int().min(1).max(600).optional() }).strict();
const handoffInput = schemaFor<HandoffInput>()(
  z
    .object({
      accountId: id,
      characterId: id,
      serverId,
      districtId: district,
      ttlSec: z.number().int().min(1).max(600).default(60),
      fencingToken: token.optional(),
    })
    .strict(),
);
const ttlOption = z.object({ ttlSec: z.number().int().min(1).max(3600).optional() }).strict();
const ticketInput = z.string().min(1).max(128);

/**
 * Presence: which district server holds each character, one holder at a time across all
 * servers. Claims live on global (presence_claims) with an expiry by the global server's clock;
 * `characters.is_online` and `characters.presence_token` follow them on the character's shard in
 * the same two-phase commit. Every claim or takeover carries a new fencing token; writes under an
 * older token are refused ({@link PresenceLostError}).
 */
export class Presence {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Claims a character for a server. Refused with PresenceHeldError (naming the holder) while
   * another server's claim is live; an expired claim is taken over. Claiming again from the same
   * server replaces its claim (new token). AuthError `banned` / `suspended` while the account is
   * under a ban or suspension (which also ends its live claims and tickets: Moderation.punish).
   *
   * @example
   * const { fencingToken, expiresAt } = await db.presence.claim(characterId, { serverId: 'district-7', districtId: 2, ttlSec: 30 });
   */
  async claim(characterId: number, input: PresenceClaimInput): Promise<PresenceClaim> {
    const cid = parseInput(id, characterId, 'character id');
    const data = parseInput(claimInput, input, 'presence claim');
    this.ctx.router.topology.shardOfDistrict(data.districtId); // configured, or UnknownDistrictError
    return this.ctx.router.onCharacter(
      'presence_claim',
      cid,
      async (conn, route, tx) => {
        await lockLiveCharacter(conn, cid, route.shard); // a soft-deleted character cannot enter the world
        const global = await tx.branch(GLOBAL);
        await refuseRestrictedCharacter(global, cid); // a banned or suspended account's characters stay out
        refuseIfHeldElsewhere(cid, await lockClaim(global, cid), data.serverId);
        const claim = await takeClaim(global, cid, data);
        await markOnline(conn, cid, claim.fencingToken);
        return claim;
      },
      { ...unfenced('presence takes the claim'), withGlobal: true },
    );
  }

  /**
   * Extends a live claim by its TTL (or `ttlSec`), from now by the database's clock. A claim that
   * expired, was released or was taken over throws PresenceLostError: claim again.
   *
   * @example
   * const { expiresAt } = await db.presence.heartbeat(characterId, claim.fencingToken);
   */
  async heartbeat(characterId: number, fencingToken: number, options: { ttlSec?: number } = {}): Promise<{ expiresAt: Date }> {
    const cid = parseInput(id, characterId, 'character id');
    const tok = parseInput(token, fencingToken, 'fencing token');
    const { ttlSec } = parseInput(ttlOption, options, 'options');
    return this.ctx.router.onGlobal('presence_heartbeat', async (global) => {
      const header = await global.exec(
        `UPDATE presence_claims SET ttl_sec = COALESCE(?, ttl_sec), expires_at = NOW(6) + INTERVAL COALESCE(?, ttl_sec) SECOND
          WHERE character_id = ? AND fencing_token = ? AND server_id IS NOT NULL AND expires_at > NOW(6)`,
        [ttlSec ?? null, ttlSec ?? null, cid, tok],
      );
      if (header.affectedRows !== 1) throw new PresenceLostError(cid, tok);
      const [row] = await global.rows<{ expires_at: Date }>('SELECT expires_at FROM presence_claims WHERE character_id = ?', [cid]);
      return { expiresAt: row!.expires_at };
    });
  }

  /**
   * Ends a claim (logout). Buffered writes of the character's shard are flushed first, so the last
   * position lands under the claim; then the claim and `is_online` go together.
   *
   * @example
   * await db.presence.release(characterId, claim.fencingToken);
   */
  async release(characterId: number, fencingToken: number): Promise<void> {
    const cid = parseInput(id, characterId, 'character id');
    const tok = parseInput(token, fencingToken, 'fencing token');
    const route = await this.ctx.router.directory.resolve(cid);
    await this.ctx.writeBehind(route.shard).flush();
    await this.ctx.router.onCharacter(
      'presence_release',
      cid,
      async (conn, r, tx) => {
        await dropClaim(await tx.branch(GLOBAL), cid, tok);
        await markOffline(conn, cid);
      },
      { ...unfenced('the claim is checked by dropClaim'), withGlobal: true },
    );
  }

  /**
   * The old online flag (`characters.setOnline`), kept as a presence claim so it never writes past
   * one: online takes a claim for `serverId` (default {@link LEGACY_ONLINE_SERVER}) in the
   * character's district, refused (PresenceHeldError) while another server holds the character;
   * offline releases the claim `fencingToken` names (PresenceLostError when stale) or, without a
   * token, a claim of `serverId` (another server's live claim: PresenceHeldError). Returns whether
   * the character's online state changed, and the claim's token when online.
   * @deprecated Use {@link claim}, {@link heartbeat} and {@link release}.
   */
  async setOnline(
    characterId: number,
    online: boolean,
    options: SetOnlineOptions = {},
  ): Promise<{ changed: boolean; fencingToken?: number }> {
    const cid = parseInput(id, characterId, 'character id');
    const flag = parseInput(z.boolean(), online, 'online flag');
    const opts = parseInput(setOnlineOptions, options, 'options');
    const sid = opts.serverId ?? LEGACY_ONLINE_SERVER;
    return this.ctx.router.onCharacter(
      'set_online',
      cid,
      async (conn, _route, tx, locked) => {
        const global = await tx.branch(GLOBAL);
        const current = await lockClaim(global, cid);
        const live = current && Number(current.live) ? current : undefined;
        if (flag) {
          if (opts.fencingToken !== undefined && (!live || Number(live.fencing_token) !== opts.fencingToken))
            throw new PresenceLostError(cid, opts.fencingToken);
          if (live && live.server_id === sid) return { changed: false, fencingToken: Number(live.fencing_token) };
          refuseIfHeldElsewhere(cid, current, sid);
          const claim = await takeClaim(global, cid, { serverId: sid, districtId: Number(locked.district_id), ttlSec: opts.ttlSec });
          await markOnline(conn, cid, claim.fencingToken);
          return { changed: true, fencingToken: claim.fencingToken };
        }
        if (opts.fencingToken !== undefined) {
          await dropClaim(global, cid, opts.fencingToken);
        } else if (live) {
          refuseIfHeldElsewhere(cid, live, sid);
          await dropClaim(global, cid, Number(live.fencing_token));
        }
        const [row] = await conn.rows<{ is_online: number }>('SELECT is_online FROM characters WHERE character_id = ?', [cid]);
        await markOffline(conn, cid);
        return { changed: Boolean(Number(row!.is_online)) };
      },
      { ...unfenced('presence takes the claim'), withGlobal: true },
    );
  }

  /**
   * Releases every claim a server holds, live or expired (that server crashed or shut down).
   * Returns the characters released.
   *
   * @example
   * const { released } = await db.presence.releaseAll('district-7');
   */
  async releaseAll(server: string): Promise<{ released: number[] }> {
    const sid = parseInput(serverId, server, 'server id');
    const router = this.ctx.router;
    // This process's own buffered writes land first (a server shutting down cleanly).
    await Promise.allSettled(router.topology.shards.map((s) => this.ctx.writeBehind(s.key).flush()));
    const held = await router.readGlobal('presence_held', 'strong', (conn) =>
      conn.rows<{ character_id: number }>('SELECT character_id FROM presence_claims WHERE server_id = ? ORDER BY character_id', [sid]),
    );
    const ids = held.map((r) => Number(r.character_id));
    return { released: await releaseClaims(router, ids, { where: 'server_id = ?', params: [sid] }) };
  }

  /**
   * Releases claims that expired without a heartbeat and were not taken over, so `is_online`
   * follows them (a maintenance job; the claims already count as free for claim and whereIs).
   *
   * @example
   * const { released } = await db.presence.releaseExpired();
   */
  async releaseExpired(options: { limit?: number } = {}): Promise<{ released: number[] }> {
    const limit = parseInput(z.number().int().min(1).max(100_000).default(10_000), options.limit, 'limit');
    const router = this.ctx.router;
    const expired = await router.readGlobal('presence_expired', 'strong', (conn) =>
      conn.rows<{ character_id: number }>(
        `SELECT character_id FROM presence_claims WHERE server_id IS NOT NULL AND expires_at <= NOW(6) ORDER BY character_id LIMIT ${limit}`,
      ),
    );
    const ids = expired.map((r) => Number(r.character_id));
    return { released: await releaseClaims(router, ids, { where: 'server_id IS NOT NULL AND expires_at <= NOW(6)', params: [] }) };
  }

  /**
   * Where characters are, in one read on global: a live claim's server and district, or null
   * (offline, released or expired). Results come in the order of `characterIds`.
   *
   * @example
   * const [neo, trinity] = await db.presence.whereIs([neoId, trinityId]);
   */
  async whereIs(characterIds: number[], options: { consistency?: Consistency } = {}): Promise<Array<PresenceLocation | null>> {
    const ids = parseInput(z.array(id).max(1000), characterIds, 'character ids');
    if (ids.length === 0) return [];
    const list = inList(ids);
    const rows = await this.ctx.router.readGlobal('presence_where', consistencyOf(options, 'strong'), (conn) =>
      conn.rows<{ character_id: number; server_id: string; district_id: number; expires_at: Date }>(
        `SELECT character_id, server_id, district_id, expires_at FROM presence_claims
          WHERE character_id IN ${list.sql} AND server_id IS NOT NULL AND expires_at > NOW(6)`,
        list.params,
      ),
    );
    const byId = new Map(rows.map((r) => [Number(r.character_id), r]));
    return ids.map((cid) => {
      const r = byId.get(cid);
      return r ? { characterId: cid, serverId: r.server_id, districtId: Number(r.district_id), expiresAt: r.expires_at } : null;
    });
  }

  /**
   * Throws PresenceLostError unless `fencingToken` names the character's live claim (read on the
   * global primary). For writes a server must not make after losing the character.
   *
   * @example
   * await db.presence.assertHolder(characterId, claim.fencingToken);
   */
  async assertHolder(characterId: number, fencingToken: number): Promise<PresenceLocation> {
    const cid = parseInput(id, characterId, 'character id');
    const tok = parseInput(token, fencingToken, 'fencing token');
    const [row] = await this.ctx.router.readGlobal('presence_assert', 'strong', (conn) =>
      conn.rows<{ server_id: string; district_id: number; expires_at: Date }>(
        `SELECT server_id, district_id, expires_at FROM presence_claims
          WHERE character_id = ? AND fencing_token = ? AND server_id IS NOT NULL AND expires_at > NOW(6)`,
        [cid, tok],
      ),
    );
    if (!row) throw new PresenceLostError(cid, tok);
    return { characterId: cid, serverId: row.server_id, districtId: Number(row.district_id), expiresAt: row.expires_at };
  }

  /**
   * A character crossing from this district server to another (a hardline or district move across
   * servers), in the order that makes the relog race impossible: the holder's claim is checked,
   * the character's buffered writes are flushed, its rows move to the target district (and shard),
   * and only then is the handoff issued that transfers the claim to the target server when it
   * consumes the ticket. Until then the claim stays this server's, so nobody else can enter the
   * character before its last save has landed.
   *
   * @example
   * const { ticket, move } = await db.presence.handOver(characterId, claim.fencingToken, { serverId: 'district-9', districtId: 5 });
   */
  async handOver(
    characterId: number,
    fencingToken: number,
    target: { serverId: string; districtId: number; ttlSec?: number },
  ): Promise<{ ticket: string; expiresAt: Date; move: MoveResult }> {
    const cid = parseInput(id, characterId, 'character id');
    const held = parseInput(token, fencingToken, 'fencing token');
    const to = parseInput(handOverInput, target, 'target');
    await this.assertHolder(cid, held);
    // moveCharacter flushes the shard's buffered writes before it copies or changes anything.
    const move = await moveCharacter(this.ctx.router, this.ctx.writeBehind, cid, to.districtId, undefined, held);
    const route = await this.ctx.router.directory.resolve(cid);
    const handoff = await this.issueHandoff({
      accountId: route.accountId,
      characterId: cid,
      serverId: to.serverId,
      districtId: to.districtId,
      ttlSec: to.ttlSec,
      fencingToken: held,
    });
    return { ...handoff, move };
  }

  /**
   * Issues a one-time world-entry ticket bound to the account, the character, the target server
   * and district, and an expiry. Only its SHA-256 is stored. Refused while another server holds
   * the character, unless `fencingToken` names that claim (a move between servers).
   *
   * @example
   * const { ticket } = await db.presence.issueHandoff({ accountId, characterId, serverId: 'district-7', districtId: 2 });
   */
  async issueHandoff(input: HandoffInput): Promise<{ ticket: string; expiresAt: Date }> {
    const data = parseInput(handoffInput, input, 'handoff');
    this.ctx.router.topology.shardOfDistrict(data.districtId);
    const { ticket, hash } = newTicket();
    const expiresAt = await this.ctx.router.onGlobal('presence_issue_handoff', async (global) => {
      const [owner] = await global.rows<{ account_id: number }>(
        'SELECT account_id FROM character_directory WHERE character_id = ? AND deleted_at IS NULL LOCK IN SHARE MODE',
        [data.characterId],
      );
      if (!owner) throw new NotFoundError('character', data.characterId);
      if (Number(owner.account_id) !== data.accountId)
        throw new ForbiddenError('handoff', `character ${data.characterId} is not of account ${data.accountId}`);
      await refuseRestrictedCharacter(global, data.characterId);
      const claim = await lockClaim(global, data.characterId);
      if (data.fencingToken !== undefined && (!claim || Number(claim.fencing_token) !== data.fencingToken || !Number(claim.live)))
        throw new PresenceLostError(data.characterId, data.fencingToken);
      refuseIfHeldElsewhere(data.characterId, claim, data.serverId, data.fencingToken);
      await global.exec(
        `INSERT INTO presence_handoffs (ticket_hash, account_id, character_id, server_id, district_id, from_fencing_token, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, NOW(6) + INTERVAL ? SECOND)`,
        [hash, data.accountId, data.characterId, data.serverId, data.districtId, data.fencingToken ?? null, data.ttlSec],
      );
      const [row] = await global.rows<{ expires_at: Date }>('SELECT expires_at FROM presence_handoffs WHERE ticket_hash = ?', [hash]);
      return row!.expires_at;
    });
    return { ticket, expiresAt };
  }

  /**
   * The newest live, unconsumed world-entry ticket for this character on this server (one read
   * on global), or null: the client's UDP session names only the character, so the district
   * server learns here that an entry is expected. The ticket itself is never stored (its hash
   * is): the server still consumes it with {@link consumeHandoff}.
   *
   * @example
   * const pending = await db.presence.pendingHandoff(characterId, 'district-7'); // { accountId, characterId, districtId, expiresAt } | null
   */
  async pendingHandoff(characterId: number, server: string): Promise<PendingHandoff | null> {
    const cid = parseInput(id, characterId, 'character id');
    const sid = parseInput(serverId, server, 'server id');
    const [row] = await this.ctx.router.readGlobal('presence_pending_handoff', 'strong', (conn) =>
      conn.rows<{ account_id: number; district_id: number; expires_at: Date }>(
        `SELECT account_id, district_id, expires_at FROM presence_handoffs
          WHERE character_id = ? AND server_id = ? AND consumed_at IS NULL AND expires_at > NOW(6)
          ORDER BY created_at DESC LIMIT 1`,
        [cid, sid],
      ),
    );
    return row
      ? { accountId: Number(row.account_id), characterId: cid, districtId: Number(row.district_id), expiresAt: row.expires_at }
      : null;
  }

  /**
   * Consumes a ticket on the server it was issued for, once, and claims the character there in
   * the same transaction. Unknown, used, expired or misdirected tickets throw HandoffInvalidError.
   *
   * @example
   * const { characterId, districtId, claim } = await db.presence.consumeHandoff(ticket, 'district-7');
   */
  async consumeHandoff(ticket: string, server: string, options: { ttlSec?: number } = {}): Promise<HandoffResult> {
    const hash = ticketHash(parseInput(ticketInput, ticket, 'ticket'));
    const sid = parseInput(serverId, server, 'server id');
    const ttlSec = parseInput(ttlOption, options, 'options').ttlSec ?? 30;
    const [peek] = await this.ctx.router.readGlobal('presence_peek_handoff', 'strong', (conn) =>
      conn.rows<{ character_id: number }>('SELECT character_id FROM presence_handoffs WHERE ticket_hash = ?', [hash]),
    );
    if (!peek) throw new HandoffInvalidError('unknown');
    const cid = Number(peek.character_id);
    return this.ctx.router.onCharacter(
      'presence_consume_handoff',
      cid,
      async (conn, route, tx) => {
        await lockLiveCharacter(conn, cid, route.shard); // a soft-deleted character cannot enter the world
        const global = await tx.branch(GLOBAL);
        const [h] = await global.rows<{
          account_id: number;
          server_id: string;
          district_id: number;
          from_fencing_token: number | string | null;
          consumed: number;
          live: number;
        }>(
          `SELECT account_id, server_id, district_id, from_fencing_token, consumed_at IS NOT NULL AS consumed, expires_at > NOW(6) AS live
             FROM presence_handoffs WHERE ticket_hash = ? FOR UPDATE`,
          [hash],
        );
        if (!h) throw new HandoffInvalidError('unknown');
        if (Number(h.consumed)) throw new HandoffInvalidError('consumed');
        if (!Number(h.live)) throw new HandoffInvalidError('expired');
        if (h.server_id !== sid) throw new HandoffInvalidError('wrong_server');
        await refuseRestrictedCharacter(global, cid);
        const from = h.from_fencing_token === null ? null : Number(h.from_fencing_token);
        const current = await lockClaim(global, cid);
        if (from !== null && current && Number(current.live) && Number(current.fencing_token) !== from)
          throw new HandoffInvalidError('claim_moved');
        refuseIfHeldElsewhere(cid, current, sid, from);
        await global.exec('UPDATE presence_handoffs SET consumed_at = NOW(6) WHERE ticket_hash = ?', [hash]);
        const districtId = Number(h.district_id);
        const claim = await takeClaim(global, cid, { serverId: sid, districtId, ttlSec });
        await markOnline(conn, cid, claim.fencingToken);
        return { accountId: Number(h.account_id), characterId: cid, districtId, claim };
      },
      { ...unfenced('presence takes the claim'), withGlobal: true },
    );
  }
}
