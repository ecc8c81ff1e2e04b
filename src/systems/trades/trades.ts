import { z } from 'zod';
import { idempotencyKey } from '../shared/fields.js';
import { InsufficientFundsError, TradeAbortedError } from '../../errors.js';
import { claim, keyed, type IdempotentCall } from '../../routing/idempotency.js';
import { parseInput, schemaFor } from '../../validate.js';
import type { Consistency } from '../../routing/read-router.js';
import { shardsInLockOrder } from '../../routing/lock-order.js';
import type { Fencing } from '../../routing/router.js';
import { applyOnShard, lockInOrder, settleAll, type Party, type TradePlan } from './trade-steps.js';
import type { RepoContext } from '../shared/context.js';
import {
  completeWindow,
  TradeWindows,
  type TradeConfirmation,
  type TradeOffer,
  type TradeOpenOptions,
  type TradeWindow,
  type WindowTrade,
} from './trade-windows.js';
import { fencing, type WriteOptions } from '../shared/write-options.js';
import { bigId, id } from '../shared/fields.js';

/** One side of a trade: what this character gives. */
export interface TradeSide {
  characterId: number;
  /** Money given, 0 to 2,147,483,647 (default 0). */
  money?: number;
  /** Items given, at most 64, no repeats (default none). */
  itemIds?: number[];
}

/** A trade between two characters (on one shard or two). */
export interface TradeInput {
  initiator: TradeSide;
  recipient: TradeSide;
  /** A retried call with the same key returns the first call's result instead of trading twice. */
  idempotencyKey?: string;
}

const side = z
  .object({
    characterId: id,
    money: z.number().int().min(0).max(2_147_483_647).default(0),
    itemIds: z
      .array(bigId)
      .max(64)
      .default([])
      .refine((ids) => new Set(ids).size === ids.length, 'item ids must not repeat'),
  })
  .strict();

const tradeInput = schemaFor<TradeInput>()(
  z
    .object({
      initiator: side,
      recipient: side,
      /** A retried call with the same key returns the first call's result instead of trading twice. */
      idempotencyKey,
    })
    .strict()
    .superRefine((t, ctx) => {
      if (t.initiator.characterId === t.recipient.characterId) {
        ctx.addIssue({ code: 'custom', path: ['recipient', 'characterId'], message: 'a character cannot trade with itself' });
      }
      const overlap = t.initiator.itemIds.filter((i) => t.recipient.itemIds.includes(i));
      if (overlap.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['recipient', 'itemIds'], message: `items on both sides: ${overlap.join(', ')}` });
      }
      const empty = (s: typeof t.initiator) => s.money === 0 && s.itemIds.length === 0;
      if (empty(t.initiator) && empty(t.recipient)) {
        ctx.addIssue({ code: 'custom', path: ['initiator'], message: 'the trade exchanges nothing' });
      }
    }),
);

export interface TradeResult {
  tradeId: number;
  crossShard: boolean;
  /** The XA transaction id of a cross-shard trade. */
  transactionId?: string;
  /** True when an earlier call with the same idempotency key had already done this trade. */
  replayed: boolean;
}

/** Internal signal: the idempotency key was already used; carries the earlier result. */
class Replay extends Error {
  constructor(readonly result: TradeResult) {
    super('replay');
  }
}

/**
 * Player-to-player trades of money and items: one local transaction when both characters live
 * on one shard, a two-phase commit when they do not. Either everything moves or nothing does.
 */
export class Trades {
  private readonly windows: TradeWindows;

  constructor(private readonly ctx: RepoContext) {
    this.windows = new TradeWindows(ctx, (trade) => this.executeWindow(trade));
  }

  /**
   * Executes a trade. Throws {@link InsufficientFundsError} or {@link TradeAbortedError} (and
   * changes nothing) when it cannot complete; `OutcomeUnknownError` (naming the transaction id)
   * only when a server died after prepare and recovery must settle it.
   *
   * @example
   * const { tradeId, crossShard } = await db.trades.execute({
   *   initiator: { characterId: neo, money: 100, itemIds: [sunglasses] },
   *   recipient: { characterId: trinity, money: 0, itemIds: [] },
   *   idempotencyKey: 'client-request-42',
   * });
   */
  async execute(input: TradeInput, options: WriteOptions = {}): Promise<TradeResult> {
    const data = parseInput(tradeInput, input, 'trade');
    const router = this.ctx.router;
    try {
      return await router.withRoutes([data.initiator.characterId, data.recipient.characterId], async ([a, b]) => {
        const parties: Party[] = [
          { role: 'initiator', ...data.initiator, route: a! },
          { role: 'recipient', ...data.recipient, route: b! },
        ];
        // The key is the initiator's (src/routing/idempotency.ts): it lives on the initiator's
        // shard and moves with it, so a retry after a hardline trip still finds it.
        const { idempotencyKey, ...request } = data;
        return await this.run(parties, keyed(idempotencyKey, data.initiator.characterId, 'trade', request), undefined, fencing(options));
      });
    } catch (error) {
      if (error instanceof Replay) return error.result;
      throw error;
    }
  }

  private async run(
    parties: Party[],
    call: IdempotentCall | undefined,
    window?: { tradeId: number; shard: string },
    fencing: Fencing = {},
  ): Promise<TradeResult> {
    const [initiator, recipient] = parties as [Party, Party];
    const tradeId = window?.tradeId ?? (await this.ctx.ids.next('trade_id'));
    let crossShard = false;
    // The router locks both parties' rows in the global order (and checks the initiator's
    // fencing token); the decision record lives on the last shard of that order.
    const result = await this.ctx.router.onCharacters(
      'trade',
      [initiator.characterId, recipient.characterId],
      async (tx, [a, b], rows) => {
        // Where the router found the parties (re-resolved after a stale route).
        initiator.route = a!;
        recipient.route = b!;
        // A trade window's row takes part too (it may live where neither party lives any more).
        const shards = shardsInLockOrder(new Set([a!.shard, b!.shard, ...(window ? [window.shard] : [])]));
        crossShard = shards.length > 1;
        const plan: TradePlan = { tradeId, initiator, recipient, crossShard, gtrid: tx.id, windowShard: window?.shard };
        const connOf = (p: Party) => tx.branch(p.route.shard);
        // Open every branch at once: XA START / BEGIN take no row locks, so the lock order holds.
        await settleAll(shards.map((shard) => tx.branch(shard)));
        // The idempotency key is claimed once the initiator's row is locked (the key row's foreign
        // key takes a share lock on it, which must not come before the rows earlier in the lock
        // order): a concurrent duplicate waits on the row, then finds the key taken. The whole
        // result is known already (id, shards, transaction id): it is stored now.
        if (call) {
          await rows.of(initiator.characterId);
          const first = { tradeId, crossShard, ...(tx.id ? { transactionId: tx.id } : {}), replayed: false };
          const earlier = await claim<TradeResult>(await connOf(initiator), call, first);
          if (earlier) throw new Replay({ ...earlier, replayed: true });
        }
        // Likewise a window is claimed first (only while `confirmed`): it runs once or not at all.
        if (window) await completeWindow(await tx.branch(window.shard), window.tradeId, tx.id);
        const locks = lockInOrder(plan, connOf, rows);
        // settleAll lets every shard finish before a failure is thrown, so nothing is still in
        // flight on a connection when the coordinator rolls its branch back.
        await settleAll(
          shards.map(async (shard) => {
            await applyOnShard(await tx.branch(shard), shard, plan, locks, rows.forUpdate);
            // This shard's part is done: prepare it now (a no-op for the decision shard and for a
            // local transaction), while the other shard may still be working.
            await tx.prepare(shard);
          }),
        );
      },
      // Across shards the parties' rows are first locked on both shards at once, with NOWAIT (and the
      // items too, rows.forUpdate); a row another transaction holds runs the trade again in the
      // global lock order. Not for a window's trade: its window row is updated without NOWAIT.
      { also: window ? [window.shard] : [], pipeline: true, nowaitFirst: !window, ...fencing, actorId: initiator.characterId },
    );
    return { tradeId, crossShard, transactionId: result.transactionId, replayed: false };
  }

  /**
   * Opens a trade window (`trade_sessions`, status `initiated`) on the initiator's shard; it
   * expires after `ttlSec` (default one hour, as the seed's column default; `ttlSeconds` is the
   * deprecated spelling). `expiresAt` is when (`expiresDate`, the old spelling, is the same).
   * @example
   * const { tradeId } = await db.trades.open(neo, trinity);
   */
  open(
    initiatorId: number,
    recipientId: number,
    options: TradeOpenOptions = {},
  ): Promise<{ tradeId: number; expiresAt: Date; expiresDate: Date }> {
    return this.windows.open(initiatorId, recipientId, options);
  }

  /**
   * Sets one side's offer in a window; any change clears both confirmations.
   * @example
   * await db.trades.offer(tradeId, neo, { money: 100, itemIds: [sunglasses] });
   */
  offer(tradeId: number, characterId: number, offer: TradeOffer): Promise<TradeWindow> {
    return this.windows.offer(tradeId, characterId, offer);
  }

  /**
   * Confirms a window; the second confirmation executes the trade atomically (as
   * {@link execute}: local, or two-phase across shards). A failed execution reopens the window.
   * @example
   * await db.trades.confirm(tradeId, neo);  const { executed } = await db.trades.confirm(tradeId, trinity);
   */
  confirm(tradeId: number, characterId: number): Promise<TradeConfirmation> {
    return this.windows.confirm(tradeId, characterId);
  }

  /**
   * Cancels an open window (either party).
   * @example
   * await db.trades.cancel(tradeId, trinity);
   */
  cancel(tradeId: number, characterId: number): Promise<TradeWindow> {
    return this.windows.cancel(tradeId, characterId);
  }

  /**
   * A trade window as recorded.
   * @example
   * const { status, initiatorConfirmed } = await db.trades.window(tradeId);
   */
  window(tradeId: number, options: { consistency?: Consistency } = {}): Promise<TradeWindow> {
    return this.windows.get(tradeId, options);
  }

  /**
   * Cancels every open window past its expiry (a maintenance chore; calls on an expired window
   * cancel it too).
   * @example
   * const { expired } = await db.trades.expireWindows();
   */
  expireWindows(): Promise<{ expired: number }> {
    return this.windows.expire();
  }

  /** The second confirmation of a window: the same atomic path as {@link execute}. */
  private async executeWindow(trade: WindowTrade): Promise<TradeResult> {
    const data = parseInput(tradeInput, { initiator: trade.initiator, recipient: trade.recipient }, 'trade');
    return this.ctx.router.withRoutes([data.initiator.characterId, data.recipient.characterId], ([a, b]) =>
      this.run(
        [
          { role: 'initiator', ...data.initiator, route: a!, offered: trade.offered.initiator },
          { role: 'recipient', ...data.recipient, route: b!, offered: trade.offered.recipient },
        ],
        undefined,
        { tradeId: trade.tradeId, shard: trade.shard },
      ),
    );
  }
}
