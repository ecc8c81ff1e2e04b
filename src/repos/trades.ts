import { z } from 'zod';
import { InsufficientFundsError, TradeAbortedError } from '../errors.js';
import { isDuplicateKey } from '../pool/mysql-errors.js';
import type { PooledConnection, Row } from '../pool/pooled-connection.js';
import type { CharacterRoute } from '../routing/directory.js';
import { parseInput } from '../validate.js';
import { lockCharacter } from '../sql/character-lock.js';
import { insertRow } from '../sql/character-rows.js';
import type { RepoContext } from './context.js';

const side = z
  .object({
    characterId: z.number().int().positive(),
    money: z.number().int().min(0).max(2_147_483_647).default(0),
    itemIds: z
      .array(z.number().int().positive())
      .max(64)
      .default([])
      .refine((ids) => new Set(ids).size === ids.length, 'item ids must not repeat'),
  })
  .strict();

const tradeInput = z
  .object({
    initiator: side,
    recipient: side,
    /** A retried call with the same key returns the first call's result instead of trading twice. */
    idempotencyKey: z.string().min(1).max(64).optional(),
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
  });

export type TradeInput = z.input<typeof tradeInput>;

export interface TradeResult {
  tradeId: number;
  crossShard: boolean;
  /** The XA transaction id of a cross-shard trade. */
  transactionId?: string;
  /** True when an earlier call with the same idempotency key had already done this trade. */
  replayed: boolean;
}

interface Party {
  role: 'initiator' | 'recipient';
  characterId: number;
  money: number;
  itemIds: number[];
  route: CharacterRoute;
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
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Executes a trade. Throws {@link InsufficientFundsError} or {@link TradeAbortedError} (and
   * changes nothing) when it cannot complete; `OutcomeUnknownError` (naming the transaction id)
   * only when a server died after prepare and recovery must settle it.
   */
  async execute(input: TradeInput): Promise<TradeResult> {
    const data = parseInput(tradeInput, input, 'trade');
    const router = this.ctx.router;
    try {
      return await router.withRoutes([data.initiator.characterId, data.recipient.characterId], async ([a, b]) => {
        const parties: Party[] = [
          { role: 'initiator', ...data.initiator, route: a! },
          { role: 'recipient', ...data.recipient, route: b! },
        ];
        if (data.idempotencyKey) {
          // Every shard, not just the initiator's current one: the key's trade_sessions row stays
          // where the initiator lived when the trade ran, and the initiator may have moved since.
          // (Fix: a retry after the initiator moved shards found nothing and traded a second time.)
          const earlier = await this.findByKeyAnywhere(a!.shard, data.idempotencyKey);
          if (earlier) return earlier;
        }
        return await this.run(parties, data.idempotencyKey);
      });
    } catch (error) {
      if (error instanceof Replay) return error.result;
      throw error;
    }
  }

  private async run(parties: Party[], idempotencyKey: string | undefined): Promise<TradeResult> {
    const [initiator, recipient] = parties as [Party, Party];
    const shards = [...new Set(parties.map((p) => p.route.shard))].sort();
    const crossShard = shards.length > 1;
    const tradeId = await this.ctx.ids.next('trade_id');
    // Rows are locked in one global order, shard name then character id, so concurrent trades
    // cannot deadlock across shards; the decision record lives on the last shard of that order.
    const ordered = [...parties].sort((x, y) =>
      x.route.shard === y.route.shard ? x.characterId - y.characterId : x.route.shard < y.route.shard ? -1 : 1,
    );
    const result = await this.ctx.router
      .onNodes('trade', shards, shards[shards.length - 1]!, async (tx) => {
        const connOf = (p: Party) => tx.branch(p.route.shard);
        // Open every branch at once: XA START / BEGIN take no row locks, so the lock order holds.
        await settleAll(shards.map((shard) => tx.branch(shard)));
        // The idempotency key is claimed before anything else: a concurrent duplicate waits on it,
        // then finds it taken. It locks no existing row, so it cannot break the lock order below.
        if (idempotencyKey) await insertTradeSession(await connOf(initiator), tradeId, parties, initiator, idempotencyKey, tx.id);
        // Parties are locked one after the other in the global order (each lock starts when the
        // previous one is held), while each shard's writes start as soon as the locks they need
        // are held: a cross-shard trade writes and prepares its first shard while it locks and
        // writes the second, so it costs about the round trips of one side plus the commit, not
        // of both sides in sequence (see bench/trades-bench.ts). Writes take no new lock on an
        // existing row, so this does not change the lock order.
        const locks = new Map<number, Promise<Locked>>();
        let previous: Promise<unknown> = Promise.resolve();
        for (const party of ordered) {
          const lock = previous.then(async (): Promise<Locked> => {
            const conn = await connOf(party);
            const row = await lockCharacter(conn, party.characterId, party.route.shard);
            return { balance: Number(row.money), ...(await lockTradeItems(conn, party, crossShard)) };
          });
          lock.catch(() => {}); // observed below; never an unhandled rejection
          locks.set(party.characterId, lock);
          previous = lock;
        }
        // settleAll lets every shard finish before a failure is thrown, so nothing is still in
        // flight on a connection when the coordinator rolls its branch back.
        await settleAll(
          shards.map(async (shard) => {
            const conn = await tx.branch(shard);
            const here = parties.filter((p) => p.route.shard === shard);
            const anchor = here[0]!;
            const mine = new Map<Party, Locked>();
            for (const party of here) mine.set(party, await locks.get(party.characterId)!);
            for (const [party, locked] of mine) {
              if (locked.balance < party.money) throw new InsufficientFundsError(party.characterId, party.money, locked.balance);
            }
            if (!(idempotencyKey && anchor === initiator)) await insertTradeSession(conn, tradeId, parties, anchor, undefined, tx.id);
            for (const [party, locked] of mine) {
              const other = party === initiator ? recipient : initiator;
              await conn.exec('UPDATE characters SET money = ? WHERE character_id = ?', [
                locked.balance - party.money + other.money,
                party.characterId,
              ]);
            }
            // Both directions of the trade, in one statement, on every shard it touched.
            const rows = (
              [
                [initiator, recipient],
                [recipient, initiator],
              ] as const
            ).filter(([from]) => from.money > 0 || from.itemIds.length > 0);
            if (rows.length > 0) {
              await conn.exec(
                `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount,
                 items_transferred, transaction_reason, related_trade_id, district_id)
               VALUES ${rows.map(() => "(?, ?, 'trade', ?, ?, ?, ?, ?)").join(', ')}`,
                rows.flatMap(([from, to]) => [
                  from.characterId,
                  to.characterId,
                  from.money,
                  JSON.stringify(from.itemIds),
                  crossShard ? 'cross-shard trade' : 'trade',
                  tradeId,
                  anchor.route.districtId,
                ]),
              );
            }
            // Items: within this shard a reassignment; across shards the giver's shard deletes its
            // rows and the taker's shard inserts the copies (ids kept), both in this transaction.
            for (const [from, to] of [
              [initiator, recipient],
              [recipient, initiator],
            ] as const) {
              if (from.itemIds.length === 0) continue;
              if (from.route.shard === shard && to.route.shard === shard) {
                await reassignItems(conn, to, from.itemIds, tradeId);
              } else if (from.route.shard === shard) {
                await conn.exec(`DELETE FROM character_inventory WHERE item_id IN (${marks(from.itemIds)}) AND character_id = ?`, [
                  ...from.itemIds,
                  from.characterId,
                ]);
              } else if (to.route.shard === shard) {
                await insertItems(conn, to, await locks.get(from.characterId)!, tradeId);
              }
            }
            // This shard's part is done: prepare it now (a no-op for the decision shard and for a
            // local transaction), while the other shard may still be working.
            await tx.prepare(shard);
          }),
        );
      })
      .catch((error: unknown) => {
        if (idempotencyKey && isDuplicateKey(error, 'uq_trade_sessions_idempotency')) {
          return this.findByKey(initiator.route.shard, idempotencyKey).then((earlier) => {
            throw earlier ? new Replay(earlier) : error;
          });
        }
        throw error;
      });
    return { tradeId, crossShard, transactionId: result.transactionId, replayed: false };
  }

  /**
   * Looks the key up on `first` and every other shard at once. An unreachable shard fails the
   * call (typed): the key cannot be proven unused, so the trade must not run.
   */
  private async findByKeyAnywhere(first: string, key: string): Promise<TradeResult | undefined> {
    const shards = [first, ...this.ctx.router.topology.shards.map((s) => s.key).filter((k) => k !== first)];
    const found = await Promise.all(shards.map((shard) => this.findByKey(shard, key)));
    return found.find((r) => r !== undefined);
  }

  private async findByKey(shard: string, key: string): Promise<TradeResult | undefined> {
    const [row] = await this.ctx.router.readShard('trade_lookup', shard, 'strong', (conn) =>
      conn.rows<{ trade_id: number; xa_gtrid: string | null }>('SELECT trade_id, xa_gtrid FROM trade_sessions WHERE idempotency_key = ?', [
        key,
      ]),
    );
    if (!row) return undefined;
    return {
      tradeId: Number(row.trade_id),
      crossShard: row.xa_gtrid !== null,
      transactionId: row.xa_gtrid ?? undefined,
      replayed: true,
    };
  }
}

/** Waits for every promise to settle, then throws the first rejection (if any). */
async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** What a party's lock returned: its balance, and the rows of the items it gives. */
interface Locked {
  balance: number;
  items: Row[];
  /** Modifications of those items (read only when they leave the shard). */
  modifications: Row[];
}

function marks(ids: number[]): string {
  return ids.map(() => '?').join(',');
}

/** Locks the items a party gives and checks they can be traded. */
async function lockTradeItems(conn: PooledConnection, party: Party, crossShard: boolean): Promise<Omit<Locked, 'balance'>> {
  if (party.itemIds.length === 0) return { items: [], modifications: [] };
  const ids = [...party.itemIds].sort((x, y) => x - y);
  const rows = await conn.rows(
    `SELECT * FROM character_inventory WHERE item_id IN (${marks(ids)}) AND character_id = ?
      ORDER BY item_id FOR UPDATE`,
    [...ids, party.characterId],
  );
  if (rows.length !== ids.length) {
    const have = new Set(rows.map((r) => Number(r.item_id)));
    const missing = ids.filter((i) => !have.has(i));
    throw new TradeAbortedError(`character ${party.characterId} does not own item(s) ${missing.join(', ')}`);
  }
  const blocked = await conn.rows<{ item_id: number; why: string }>(
    `SELECT ci.item_id,
            CASE WHEN ci.is_bound THEN 'bound' WHEN NOT it.is_tradeable THEN 'not tradeable' ELSE 'equipped' END AS why
       FROM character_inventory ci JOIN item_templates it ON it.template_id = ci.template_id
      WHERE ci.item_id IN (${marks(ids)})
        AND (ci.is_bound OR NOT it.is_tradeable OR ci.container_type = 'equipped'
             OR EXISTS (SELECT 1 FROM character_equipment ce WHERE ce.item_id = ci.item_id))`,
    ids,
  );
  if (blocked.length > 0) {
    throw new TradeAbortedError(blocked.map((b) => `item ${b.item_id} is ${b.why}`).join('; '));
  }
  // Items leaving the shard take their modifications with them (ON DELETE CASCADE removes them
  // here).
  const modifications = crossShard
    ? await conn.rows(`SELECT * FROM item_modifications WHERE item_id IN (${marks(ids)}) ORDER BY item_id FOR UPDATE`, ids)
    : [];
  return { items: rows, modifications };
}

/** Gives items to another character on the same shard. */
async function reassignItems(conn: PooledConnection, taker: Party, ids: number[], tradeId: number): Promise<void> {
  await conn.exec(
    `UPDATE character_inventory SET character_id = ?, acquired_method = 'trade', acquired_from = ?,
            container_type = 'inventory', slot_position = NULL
      WHERE item_id IN (${marks(ids)})`,
    [taker.characterId, `trade:${tradeId}`, ...ids],
  );
}

/** Inserts copies of items (same ids) and their modifications on the taker's shard. */
async function insertItems(conn: PooledConnection, taker: Party, given: Locked, tradeId: number): Promise<void> {
  for (const source of given.items) {
    await insertRow(conn, 'character_inventory', {
      ...source,
      character_id: taker.characterId,
      acquired_method: 'trade',
      acquired_from: `trade:${tradeId}`,
      container_type: 'inventory',
      slot_position: null,
    });
  }
  for (const source of given.modifications) {
    const { modification_id: _ignored, ...row } = source;
    await insertRow(conn, 'item_modifications', row);
  }
}

async function insertTradeSession(
  conn: PooledConnection,
  tradeId: number,
  parties: Party[],
  anchor: Party,
  idempotencyKey: string | undefined,
  gtrid: string | undefined,
): Promise<void> {
  const [initiator, recipient] = parties as [Party, Party];
  await conn.exec(
    `INSERT INTO trade_sessions (trade_id, initiator_id, recipient_id, initiator_items, recipient_items, initiator_money,
       recipient_money, trade_status, initiator_confirmed, recipient_confirmed, completed_date, district_id,
       idempotency_key, xa_gtrid)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'completed', TRUE, TRUE, NOW(), ?, ?, ?)`,
    [
      tradeId,
      initiator.characterId,
      recipient.characterId,
      JSON.stringify(initiator.itemIds),
      JSON.stringify(recipient.itemIds),
      initiator.money,
      recipient.money,
      anchor.route.districtId,
      idempotencyKey ?? null,
      gtrid ?? null,
    ],
  );
}
