import { ForbiddenError, HandoffInvalidError, NotFoundError, PresenceLostError } from '../../errors.js';
import { GLOBAL } from '../../routing/topology.js';
import { lockLiveCharacter } from '../shared/character-identity.js';
import { lockClaim, markOnline, newTicket, refuseIfHeldElsewhere, takeClaim, ticketHash } from './presence-claims.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { moveCharacter, type MoveResult } from '../shared/character-move.js';
import { refuseRestrictedCharacter } from '../shared/account-access.js';
import { unfenced } from '../shared/write-options.js';
import { forgetAfter } from '../shared/known-tokens.js';
import { fencingTokenValue as token, id } from '../shared/fields.js';
import {
  handOverInput,
  handoffInput,
  serverId,
  ticketInput,
  ttlOption,
  type HandoffInput,
  type HandoffResult,
  type PendingHandoff,
  type PresenceLocation,
} from './presence-inputs.js';

/**
 * World-entry tickets and moves between district servers (db.presence's handoff calls; their
 * documentation is on {@link Presence}): a ticket is one-time, bound to account, character,
 * server and district, stored only as its SHA-256, and consuming it claims the character on its
 * server in the same transaction.
 */
export class Handoffs {
  constructor(
    private readonly ctx: RepoContext,
    /** Presence.assertHolder: the caller's claim is live and the character's. */
    private readonly assertHolder: (characterId: number, fencingToken: number) => Promise<PresenceLocation>,
  ) {}

  /** See Presence.handOver. */
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

  /** See Presence.issueHandoff. */
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

  /** See Presence.pendingHandoff. */
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

  /** See Presence.consumeHandoff. */
  async consumeHandoff(ticket: string, server: string, options: { ttlSec?: number } = {}): Promise<HandoffResult> {
    const hash = ticketHash(parseInput(ticketInput, ticket, 'ticket'));
    const sid = parseInput(serverId, server, 'server id');
    const ttlSec = parseInput(ttlOption, options, 'options').ttlSec ?? 30;
    const [peek] = await this.ctx.router.readGlobal('presence_peek_handoff', 'strong', (conn) =>
      conn.rows<{ character_id: number }>('SELECT character_id FROM presence_handoffs WHERE ticket_hash = ?', [hash]),
    );
    if (!peek) throw new HandoffInvalidError('unknown');
    const cid = Number(peek.character_id);
    return forgetAfter(
      this.ctx.router,
      [cid],
      this.ctx.router.onCharacter(
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
      ),
    );
  }
}
