import { z } from 'zod';
import { NotFoundError, PresenceLostError } from '../../errors.js';
import { refuseRestrictedCharacter } from '../shared/account-access.js';
import type { Consistency } from '../../routing/read-router.js';
import { consistencyOf } from '../../routing/consistency.js';
import { GLOBAL } from '../../routing/topology.js';
import { lockLiveCharacter } from '../shared/character-identity.js';
import { dropClaim, lockClaim, markOffline, markOnline, releaseClaims, refuseIfHeldElsewhere, takeClaim } from './presence-claims.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import type { MoveResult } from '../shared/character-move.js';
import { unfenced, type SetOnlineOptions } from '../shared/write-options.js';
import { fencingTokenValue as token, id } from '../shared/fields.js';
import { inList } from '../../pool/in-list.js';
import { Handoffs } from './presence-handoff.js';
import { forgetAfter } from '../shared/known-tokens.js';
import {
  claimInput,
  LEGACY_ONLINE_SERVER,
  serverId,
  setOnlineOptions,
  ttlOption,
  type HandoffInput,
  type HandoffResult,
  type PendingHandoff,
  type PresenceClaim,
  type PresenceClaimInput,
  type PresenceLocation,
} from './presence-inputs.js';

export type { SetOnlineOptions } from '../shared/write-options.js';
export type {
  HandoffInput,
  HandoffResult,
  PendingHandoff,
  PresenceClaim,
  PresenceClaimInput,
  PresenceLocation,
} from './presence-inputs.js';
export { LEGACY_ONLINE_SERVER } from './presence-inputs.js';

/**
 * Presence: which district server holds each character, one holder at a time across all
 * servers. Claims live on global (presence_claims) with an expiry by the global server's clock;
 * `characters.is_online` and `characters.presence_token` follow them on the character's shard in
 * the same two-phase commit. Every claim or takeover carries a new fencing token; writes under an
 * older token are refused ({@link PresenceLostError}).
 */
export class Presence {
  private readonly handoffs: Handoffs;

  constructor(private readonly ctx: RepoContext) {
    this.handoffs = new Handoffs(ctx, (characterId, fencingToken) => this.assertHolder(characterId, fencingToken));
  }

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
    return forgetAfter(
      this.ctx.router,
      [cid],
      this.ctx.router.onCharacter(
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
      ),
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
    await forgetAfter(
      this.ctx.router,
      [cid],
      this.ctx.router.onCharacter(
        'presence_release',
        cid,
        async (conn, r, tx) => {
          await dropClaim(await tx.branch(GLOBAL), cid, tok);
          await markOffline(conn, cid);
        },
        { ...unfenced('the claim is checked by dropClaim'), withGlobal: true },
      ),
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
    return forgetAfter(
      this.ctx.router,
      [cid],
      this.ctx.router.onCharacter(
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
      ),
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
    return { released: await forgetAfter(router, ids, releaseClaims(router, ids, { where: 'server_id = ?', params: [sid] })) };
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
    return {
      released: await forgetAfter(
        router,
        ids,
        releaseClaims(router, ids, { where: 'server_id IS NOT NULL AND expires_at <= NOW(6)', params: [] }),
      ),
    };
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
  handOver(
    characterId: number,
    fencingToken: number,
    target: { serverId: string; districtId: number; ttlSec?: number },
  ): Promise<{ ticket: string; expiresAt: Date; move: MoveResult }> {
    return this.handoffs.handOver(characterId, fencingToken, target);
  }

  /**
   * Issues a one-time world-entry ticket bound to the account, the character, the target server
   * and district, and an expiry. Only its SHA-256 is stored. Refused while another server holds
   * the character, unless `fencingToken` names that claim (a move between servers).
   *
   * @example
   * const { ticket } = await db.presence.issueHandoff({ accountId, characterId, serverId: 'district-7', districtId: 2 });
   */
  issueHandoff(input: HandoffInput): Promise<{ ticket: string; expiresAt: Date }> {
    return this.handoffs.issueHandoff(input);
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
  pendingHandoff(characterId: number, server: string): Promise<PendingHandoff | null> {
    return this.handoffs.pendingHandoff(characterId, server);
  }

  /**
   * Consumes a ticket on the server it was issued for, once, and claims the character there in
   * the same transaction. Unknown, used, expired or misdirected tickets throw HandoffInvalidError.
   *
   * @example
   * const { characterId, districtId, claim } = await db.presence.consumeHandoff(ticket, 'district-7');
   */
  consumeHandoff(ticket: string, server: string, options: { ttlSec?: number } = {}): Promise<HandoffResult> {
    return this.handoffs.consumeHandoff(ticket, server, options);
  }
}
