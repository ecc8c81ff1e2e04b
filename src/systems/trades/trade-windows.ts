import { z } from 'zod';
import { InvalidStateError, NotFoundError, OutcomeUnknownError, TradeAbortedError } from '../../errors.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { consistencyOf } from '../../routing/consistency.js';
import type { Consistency } from '../../routing/read-router.js';
import { knownShard, rememberShard } from '../shared/world-rows.js';
import { parseInput } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import { bigId as id } from '../shared/fields.js'; // trade ids are BIGINT
import { lockCharacter } from '../../routing/character-lock.js';
import { inList } from '../../pool/in-list.js';
import { parseOffered, snapshotsOf, type OfferedItem } from './offer-snapshot.js';

const offerInput = z
  .object({
    money: z.number().int().min(0).max(2_147_483_647).default(0),
    itemIds: z
      .array(id)
      .max(64)
      .default([])
      .refine((ids) => new Set(ids).size === ids.length, 'item ids must not repeat'),
  })
  .strict();
const openOptions = z.object({ ttlSec: z.number().int().min(1).max(86_400).default(3600) }).strict();

/** Options of {@link TradeWindows.open}: `ttlSec` (canonical) or its old spelling `ttlSeconds`. */
export interface TradeOpenOptions extends WriteOptions {
  /** Seconds until the window expires (1-86,400, default 3600). */
  ttlSec?: number;
  /** @deprecated The old spelling of `ttlSec`. */
  ttlSeconds?: number;
}

/** What one side puts into a trade window. */
export interface TradeOffer {
  money?: number;
  itemIds?: number[];
}

/** A trade window as `trade_sessions` records it. */
export interface TradeWindow {
  tradeId: number;
  initiatorId: number;
  recipientId: number;
  initiatorMoney: number;
  recipientMoney: number;
  initiatorItems: number[];
  recipientItems: number[];
  /** What each side's items were when offered (what the other side confirms); empty for windows offered before snapshots. */
  initiatorOffer: OfferedItem[];
  recipientOffer: OfferedItem[];
  status: 'initiated' | 'negotiating' | 'confirmed' | 'completed' | 'cancelled';
  initiatorConfirmed: boolean;
  recipientConfirmed: boolean;
  /** When the window expires (canonical spelling). */
  expiresAt: Date;
  /** @deprecated The old spelling of `expiresAt`. */
  expiresDate: Date;
  completedDate: Date | null;
  shard: string;
}

/** What a confirmation did: waits for the other side, or executed the trade. */
export interface TradeConfirmation {
  tradeId: number;
  executed: boolean;
  crossShard?: boolean;
  transactionId?: string;
}

/** The sides of a confirmed window, handed to the trade execution path. */
export interface WindowTrade {
  tradeId: number;
  shard: string;
  initiator: { characterId: number; money: number; itemIds: number[] };
  recipient: { characterId: number; money: number; itemIds: number[] };
  /** The snapshots each side's items must still match (src/systems/trades/offer-snapshot.ts). */
  offered: { initiator?: OfferedItem[]; recipient?: OfferedItem[] };
}

/** Marks the window key: `window:<tradeId>`, unique, so a window row is found by its id alone. */
const keyOf = (tradeId: number) => `window:${tradeId}`;

/**
 * Trade windows (`trade_sessions`): open, offers, two confirmations, cancel, expiry. The row lives
 * on the initiator's shard at open. Changing an offer clears both confirmations; the second
 * confirmation freezes the window (`confirmed`) and runs the trade through the same atomic path
 * as `trades.execute` (local or two-phase), which marks the window `completed` in that same
 * transaction only while it is still `confirmed`: a trade runs once, or not at all.
 */
export class TradeWindows {
  constructor(
    private readonly ctx: RepoContext,
    private readonly execute: (trade: WindowTrade) => Promise<{ crossShard: boolean; transactionId?: string }>,
  ) {}

  async open(
    initiatorId: number,
    recipientId: number,
    options: TradeOpenOptions = {},
  ): Promise<{ tradeId: number; expiresAt: Date; expiresDate: Date }> {
    const a = parseInput(id, initiatorId, 'initiator id');
    const b = parseInput(id, recipientId, 'recipient id');
    const { fencingToken, ttlSeconds: oldTtl, ...rest } = options;
    const { ttlSec } = parseInput(openOptions, { ...rest, ttlSec: rest.ttlSec ?? oldTtl }, 'trade window options');
    if (a === b) throw new TradeAbortedError('a character cannot trade with itself');
    await this.ctx.router.directory.resolve(b); // the recipient exists (NotFoundError otherwise)
    const tradeId = await this.ctx.ids.next('trade_id');
    return this.ctx.router.onCharacter(
      'trade_open',
      a,
      async (conn, route, _tx, row) => {
        await conn.exec(
          `INSERT INTO trade_sessions (trade_id, initiator_id, recipient_id, initiator_items, recipient_items, trade_status, district_id,
           expires_date, idempotency_key) VALUES (?, ?, ?, '[]', '[]', 'initiated', ?, NOW() + INTERVAL ? SECOND, ?)`,
          [tradeId, a, b, row.district_id, ttlSec, keyOf(tradeId)],
        );
        const [w] = await conn.rows<{ expires_date: Date }>('SELECT expires_date FROM trade_sessions WHERE trade_id = ?', [tradeId]);
        rememberShard(this.ctx.router, `trade_window:${tradeId}`, route.shard);
        return { tradeId, expiresAt: w!.expires_date, expiresDate: w!.expires_date };
      },
      fencing({ fencingToken }),
    );
  }

  async offer(tradeId: number, characterId: number, offer: TradeOffer): Promise<TradeWindow> {
    const tid = parseInput(id, tradeId, 'trade id');
    const cid = parseInput(id, characterId, 'character id');
    const o = parseInput(offerInput, offer, 'trade offer');
    // The offer records what it offers: the trade refuses to run if any of it changes meanwhile.
    const offered = o.itemIds.length > 0 ? await this.checkOwned(cid, o.itemIds) : [];
    const shard = await this.shardOf(tid);
    await this.onWindow('trade_offer', shard, tid, cid, async (conn, w, side) => {
      if (w.trade_status !== 'initiated' && w.trade_status !== 'negotiating') throw new InvalidStateError('trade', tid, w.trade_status);
      const other = side === 'initiator' ? w.recipient_items : w.initiator_items;
      const overlap = o.itemIds.filter((i) => parseIds(other).includes(i));
      if (overlap.length > 0) throw new TradeAbortedError(`items on both sides: ${overlap.join(', ')}`);
      // Any change of an offer clears both confirmations: each side confirms what it last saw.
      await conn.exec(
        `UPDATE trade_sessions SET ${side}_money = ?, ${side}_items = ?, ${side}_offer = ?, initiator_confirmed = FALSE,
           recipient_confirmed = FALSE, trade_status = 'negotiating' WHERE trade_id = ?`,
        [o.money, JSON.stringify(o.itemIds), JSON.stringify(offered), tid],
      );
    });
    return this.get(tid, { consistency: 'strong' });
  }

  async confirm(tradeId: number, characterId: number): Promise<TradeConfirmation> {
    const tid = parseInput(id, tradeId, 'trade id');
    const cid = parseInput(id, characterId, 'character id');
    const shard = await this.shardOf(tid);
    const step = await this.onWindow('trade_confirm', shard, tid, cid, async (conn, w, side) => {
      if (w.trade_status === 'completed') return 'done' as const;
      if (w.trade_status === 'cancelled') throw new InvalidStateError('trade', tid, 'cancelled');
      // `confirmed` with both flags: an earlier execution failed or its process died; run it again.
      if (w.trade_status === 'confirmed') return 'execute' as const;
      const empty =
        Number(w.initiator_money) === 0 &&
        Number(w.recipient_money) === 0 &&
        parseIds(w.initiator_items).length + parseIds(w.recipient_items).length === 0;
      if (empty) throw new TradeAbortedError('the trade exchanges nothing');
      const both = side === 'initiator' ? Boolean(w.recipient_confirmed) : Boolean(w.initiator_confirmed);
      await conn.exec(`UPDATE trade_sessions SET ${side}_confirmed = TRUE, trade_status = ? WHERE trade_id = ?`, [
        both ? 'confirmed' : 'negotiating',
        tid,
      ]);
      return both ? ('execute' as const) : ('wait' as const);
    });
    if (step === 'done') return { tradeId: tid, executed: true };
    if (step === 'wait') return { tradeId: tid, executed: false };
    const w = await this.getForExecution(tid);
    try {
      const r = await this.execute({
        tradeId: tid,
        shard,
        initiator: { characterId: w.initiatorId, money: w.initiatorMoney, itemIds: w.initiatorItems },
        recipient: { characterId: w.recipientId, money: w.recipientMoney, itemIds: w.recipientItems },
        offered: { initiator: w.offered.initiator, recipient: w.offered.recipient },
      });
      return { tradeId: tid, executed: true, crossShard: r.crossShard, transactionId: r.transactionId };
    } catch (error) {
      // Nothing moved: the window opens again for new offers (both confirmations cleared). An
      // unknown outcome leaves it `confirmed`: recovery settles it, a later confirm re-checks.
      if (!(error instanceof OutcomeUnknownError)) {
        await this.ctx.router.onShard('trade_reopen', shard, (conn) =>
          conn.exec(
            "UPDATE trade_sessions SET trade_status = 'negotiating', initiator_confirmed = FALSE, recipient_confirmed = FALSE WHERE trade_id = ? AND trade_status = 'confirmed'",
            [tid],
          ),
        );
      }
      throw error;
    }
  }

  async cancel(tradeId: number, characterId: number): Promise<TradeWindow> {
    const tid = parseInput(id, tradeId, 'trade id');
    const cid = parseInput(id, characterId, 'character id');
    const shard = await this.shardOf(tid);
    await this.onWindow('trade_cancel', shard, tid, cid, async (conn, w) => {
      if (w.trade_status === 'completed') throw new InvalidStateError('trade', tid, 'completed');
      await conn.exec("UPDATE trade_sessions SET trade_status = 'cancelled' WHERE trade_id = ?", [tid]);
    });
    return this.get(tid, { consistency: 'strong' });
  }

  /** Cancels every open window past its expiry on every shard; returns how many. */
  async expire(): Promise<{ expired: number }> {
    const router = this.ctx.router;
    const counts = await Promise.all(
      router.topology.shards.map((s) =>
        router.onShard('trade_expire', s.key, async (conn) => {
          const header = await conn.exec(
            `UPDATE trade_sessions SET trade_status = 'cancelled'
              WHERE trade_status IN ('initiated', 'negotiating') AND expires_date < NOW() AND idempotency_key LIKE 'window:%'`,
          );
          return header.affectedRows;
        }),
      ),
    );
    return { expired: counts.reduce((x, y) => x + y, 0) };
  }

  async get(tradeId: number, options: { consistency?: Consistency } = {}): Promise<TradeWindow> {
    const tid = parseInput(id, tradeId, 'trade id');
    const shard = await this.shardOf(tid);
    const [w] = await this.ctx.router.readShard('trade_window', shard, consistencyOf(options, 'session'), (conn) =>
      conn.rows<WindowRow>('SELECT * FROM trade_sessions WHERE trade_id = ? AND idempotency_key = ?', [tid, keyOf(tid)]),
    );
    if (!w) throw new NotFoundError('trade window', tid);
    return toWindow(w, shard);
  }

  /** The window with its stored snapshots (undefined: offered before snapshots, not compared). */
  private async getForExecution(tid: number): Promise<TradeWindow & { offered: WindowTrade['offered'] }> {
    const shard = await this.shardOf(tid);
    const [w] = await this.ctx.router.readShard('trade_window', shard, 'strong', (conn) =>
      conn.rows<WindowRow>('SELECT * FROM trade_sessions WHERE trade_id = ? AND idempotency_key = ?', [tid, keyOf(tid)]),
    );
    if (!w) throw new NotFoundError('trade window', tid);
    return { ...toWindow(w, shard), offered: { initiator: parseOffered(w.initiator_offer), recipient: parseOffered(w.recipient_offer) } };
  }

  /** The shard holding the window (the execution may add rows with the same id elsewhere). */
  private async shardOf(tradeId: number): Promise<string> {
    const known = knownShard(this.ctx.router, `trade_window:${tradeId}`);
    if (known) return known;
    const found = await this.ctx.router.readEveryShard('trade_window_locate', 'strong', async (conn, shard) =>
      (await conn.rows('SELECT 1 FROM trade_sessions WHERE idempotency_key = ?', [keyOf(tradeId)])).length > 0 ? shard : undefined,
    );
    const shard = found.find((s) => s !== undefined);
    if (!shard) throw new NotFoundError('trade window', tradeId);
    rememberShard(this.ctx.router, `trade_window:${tradeId}`, shard);
    return shard;
  }

  /**
   * Locks the window row, checks the caller is a party and the window has not expired (an
   * expired open window is cancelled, then refused), and runs `work`.
   */
  private async onWindow<T>(
    operation: string,
    shard: string,
    tid: number,
    cid: number,
    work: (conn: PooledConnection, w: WindowRow, side: 'initiator' | 'recipient') => Promise<T>,
  ): Promise<T> {
    const outcome = await this.ctx.router.onShard(operation, shard, async (conn) => {
      const [w] = await conn.rows<WindowRow & { expired: number }>(
        'SELECT *, expires_date < NOW() AS expired FROM trade_sessions WHERE trade_id = ? FOR UPDATE',
        [tid],
      );
      if (!w) throw new NotFoundError('trade window', tid);
      const side = Number(w.initiator_id) === cid ? 'initiator' : Number(w.recipient_id) === cid ? 'recipient' : undefined;
      if (!side) throw new InvalidStateError('trade', tid, w.trade_status, `character ${cid} is not a party to trade ${tid}`);
      if (Number(w.expired) && (w.trade_status === 'initiated' || w.trade_status === 'negotiating')) {
        await conn.exec("UPDATE trade_sessions SET trade_status = 'cancelled' WHERE trade_id = ?", [tid]);
        return { expired: true as const };
      }
      return { expired: false as const, value: await work(conn, w, side) };
    });
    if (outcome.expired) throw new InvalidStateError('trade', tid, 'expired');
    return outcome.value;
  }

  /**
   * Early feedback on an offer: the items are the character's, tradeable, not bound or worn.
   * Returns their snapshots (what the window records as offered).
   */
  private async checkOwned(cid: number, itemIds: number[]): Promise<OfferedItem[]> {
    let snapshots: OfferedItem[] = [];
    const rows = await this.ctx.router.readCharacter('trade_offer_items', cid, 'strong', async (conn) => {
      const found = await conn.rows<{ item_id: number | null; ok: number }>(
        `SELECT ci.item_id, (NOT ci.is_bound AND it.is_tradeable AND ci.container_type <> 'equipped') AS ok
           FROM characters c LEFT JOIN character_inventory ci ON ci.character_id = c.character_id AND ci.item_id IN ${inList(itemIds).sql}
           LEFT JOIN item_templates it ON it.template_id = ci.template_id WHERE c.character_id = ?`,
        [...inList(itemIds).params, cid],
      );
      if (found.length === 0) return undefined;
      const marks = itemIds.map(() => '?').join(', ');
      snapshots = await snapshotsOf(
        conn,
        await conn.rows(`SELECT * FROM character_inventory WHERE item_id IN (${marks}) AND character_id = ?`, [...itemIds, cid]),
      );
      return found.filter((r) => r.item_id !== null);
    });
    const ok = new Set(rows.filter((r) => Number(r.ok)).map((r) => Number(r.item_id)));
    const bad = itemIds.filter((i) => !ok.has(i));
    if (bad.length > 0) throw new TradeAbortedError(`character ${cid} cannot offer item(s) ${bad.join(', ')}`);
    return snapshots;
  }
}

/**
 * Inside the trade's own transaction, before any party is locked: marks the window completed,
 * only if it is still `confirmed` (a cancel or a concurrent execution makes this fail, and the
 * whole trade with it).
 */
export async function completeWindow(conn: PooledConnection, tradeId: number, gtrid: string | undefined): Promise<void> {
  const header = await conn.exec(
    "UPDATE trade_sessions SET trade_status = 'completed', completed_date = NOW(), xa_gtrid = ? WHERE trade_id = ? AND idempotency_key = ? AND trade_status = 'confirmed'",
    [gtrid ?? null, tradeId, keyOf(tradeId)],
  );
  if (header.affectedRows !== 1) throw new TradeAbortedError(`trade window ${tradeId} is no longer confirmed`);
}

interface WindowRow {
  trade_id: number;
  initiator_id: number;
  recipient_id: number;
  initiator_items: unknown;
  recipient_items: unknown;
  initiator_offer?: unknown;
  recipient_offer?: unknown;
  initiator_money: number;
  recipient_money: number;
  trade_status: TradeWindow['status'];
  initiator_confirmed: number;
  recipient_confirmed: number;
  expires_date: Date;
  completed_date: Date | null;
}

function parseIds(v: unknown): number[] {
  const list = (typeof v === 'string' ? JSON.parse(v) : v) as unknown[] | null;
  return (list ?? []).map(Number);
}

function toWindow(w: WindowRow, shard: string): TradeWindow {
  return {
    tradeId: Number(w.trade_id),
    initiatorId: Number(w.initiator_id),
    recipientId: Number(w.recipient_id),
    initiatorMoney: Number(w.initiator_money),
    recipientMoney: Number(w.recipient_money),
    initiatorItems: parseIds(w.initiator_items),
    recipientItems: parseIds(w.recipient_items),
    initiatorOffer: parseOffered(w.initiator_offer) ?? [],
    recipientOffer: parseOffered(w.recipient_offer) ?? [],
    status: w.trade_status,
    initiatorConfirmed: Boolean(w.initiator_confirmed),
    recipientConfirmed: Boolean(w.recipient_confirmed),
    expiresAt: w.expires_date,
    expiresDate: w.expires_date,
    completedDate: w.completed_date,
    shard,
  };
}
