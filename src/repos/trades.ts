import { z } from 'zod';
import { InsufficientFundsError, TradeAbortedError } from '../errors.js';
import { isDuplicateKey } from '../pool/mysql-errors.js';
import type { PooledConnection, Row } from '../pool/pooled-connection.js';
import type { CharacterRoute } from '../routing/directory.js';
import { parseInput } from '../validate.js';
import { lockCharacter } from './characters.js';
import { ident, noteCommit, type RepoContext } from './context.js';

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
    for (let attempt = 0; ; attempt++) {
      const [a, b] = await Promise.all([
        this.ctx.directory.resolve(data.initiator.characterId, { fresh: attempt > 0 }),
        this.ctx.directory.resolve(data.recipient.characterId, { fresh: attempt > 0 }),
      ]);
      const parties: Party[] = [
        { role: 'initiator', ...data.initiator, route: a },
        { role: 'recipient', ...data.recipient, route: b },
      ];
      if (data.idempotencyKey) {
        const earlier = await this.findByKey(a.shard, data.idempotencyKey);
        if (earlier) return earlier;
      }
      try {
        return await this.run(parties, data.idempotencyKey);
      } catch (error) {
        if (error instanceof Replay) return error.result;
        if ((error as { code?: string }).code !== 'STALE_ROUTE' || attempt >= 3) throw error;
        for (const p of parties) this.ctx.directory.invalidate(p.characterId);
      }
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
    const result = await this.ctx.coordinator.run('trade', shards, shards[shards.length - 1]!, async (tx) => {
      const connOf = (p: Party) => tx.branch(p.route.shard);
      // The idempotency key is claimed before anything else: a concurrent duplicate waits on it,
      // then finds it taken. It locks no existing row, so it cannot break the lock order below.
      if (idempotencyKey) await insertTradeSession(await connOf(initiator), tradeId, parties, initiator, idempotencyKey, tx.id);
      const balances = new Map<number, number>();
      const items = new Map<number, Row[]>();
      for (const party of ordered) {
        const conn = await connOf(party);
        const row = await lockCharacter(conn, party.characterId, party.route.shard);
        balances.set(party.characterId, Number(row.money));
        items.set(party.characterId, await lockTradeItems(conn, party));
      }
      for (const party of parties) {
        const money = balances.get(party.characterId)!;
        if (money < party.money) throw new InsufficientFundsError(party.characterId, party.money, money);
      }
      for (const shard of shards) {
        const anchor = parties.find((p) => p.route.shard === shard)!;
        if (idempotencyKey && anchor === initiator) continue;
        await insertTradeSession(await tx.branch(shard), tradeId, parties, anchor, undefined, tx.id);
      }
      for (const party of parties) {
        const other = party === initiator ? recipient : initiator;
        const balance = balances.get(party.characterId)! - party.money + other.money;
        await (await connOf(party)).exec('UPDATE characters SET money = ? WHERE character_id = ?', [balance, party.characterId]);
      }
      for (const [from, to] of [[initiator, recipient], [recipient, initiator]] as const) {
        await moveItems(await connOf(from), await connOf(to), from, to, items.get(from.characterId)!, tradeId);
      }
      for (const shard of shards) {
        const conn = await tx.branch(shard);
        for (const [from, to] of [[initiator, recipient], [recipient, initiator]] as const) {
          if (from.money === 0 && from.itemIds.length === 0) continue;
          await conn.exec(
            `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount,
               items_transferred, transaction_reason, related_trade_id, district_id)
             VALUES (?, ?, 'trade', ?, ?, ?, ?, ?)`,
            [from.characterId, to.characterId, from.money, JSON.stringify(from.itemIds), crossShard ? 'cross-shard trade' : 'trade',
              tradeId, parties.find((p) => p.route.shard === shard)!.route.districtId],
          );
        }
      }
    }).catch((error: unknown) => {
      if (idempotencyKey && isDuplicateKey(error, 'uq_trade_sessions_idempotency')) {
        return this.findByKey(initiator.route.shard, idempotencyKey).then((earlier) => {
          throw earlier ? new Replay(earlier) : error;
        });
      }
      throw error;
    });
    noteCommit(this.ctx, result);
    return { tradeId, crossShard, transactionId: result.transactionId, replayed: false };
  }

  private async findByKey(shard: string, key: string): Promise<TradeResult | undefined> {
    const [row] = await this.ctx.topology.primary(shard).use('trade_lookup', (conn) =>
      conn.rows<{ trade_id: number; xa_gtrid: string | null }>(
        'SELECT trade_id, xa_gtrid FROM trade_sessions WHERE idempotency_key = ?',
        [key],
      ),
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

/** Locks the items a party gives and checks they can be traded. */
async function lockTradeItems(conn: PooledConnection, party: Party): Promise<Row[]> {
  if (party.itemIds.length === 0) return [];
  const ids = [...party.itemIds].sort((x, y) => x - y);
  const rows = await conn.rows(
    `SELECT * FROM character_inventory WHERE item_id IN (${ids.map(() => '?').join(',')}) AND character_id = ?
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
      WHERE ci.item_id IN (${ids.map(() => '?').join(',')})
        AND (ci.is_bound OR NOT it.is_tradeable OR ci.container_type = 'equipped'
             OR EXISTS (SELECT 1 FROM character_equipment ce WHERE ce.item_id = ci.item_id))`,
    ids,
  );
  if (blocked.length > 0) {
    throw new TradeAbortedError(blocked.map((b) => `item ${b.item_id} is ${b.why}`).join('; '));
  }
  return rows;
}

/** Moves item rows from one party to the other: an UPDATE on one shard, a copy across two. */
async function moveItems(from: PooledConnection, to: PooledConnection, giver: Party, taker: Party, rows: Row[], tradeId: number): Promise<void> {
  if (rows.length === 0) return;
  const ids = rows.map((r) => Number(r.item_id));
  const marks = ids.map(() => '?').join(',');
  if (from === to) {
    await from.exec(
      `UPDATE character_inventory SET character_id = ?, acquired_method = 'trade', acquired_from = ?,
              container_type = 'inventory', slot_position = NULL
        WHERE item_id IN (${marks})`,
      [taker.characterId, `trade:${tradeId}`, ...ids],
    );
    return;
  }
  const modifications = await from.rows(`SELECT * FROM item_modifications WHERE item_id IN (${marks}) FOR UPDATE`, ids);
  for (const source of rows) {
    const row: Row = {
      ...source,
      character_id: taker.characterId,
      acquired_method: 'trade',
      acquired_from: `trade:${tradeId}`,
      container_type: 'inventory',
      slot_position: null,
    };
    await insertRow(to, 'character_inventory', row);
  }
  for (const source of modifications) {
    const { modification_id: _ignored, ...row } = source;
    await insertRow(to, 'item_modifications', row);
  }
  // Modifications go with the item rows (ON DELETE CASCADE).
  await from.exec(`DELETE FROM character_inventory WHERE item_id IN (${marks}) AND character_id = ?`, [...ids, giver.characterId]);
}

async function insertRow(conn: PooledConnection, table: string, row: Row): Promise<void> {
  const columns = Object.keys(row);
  await conn.exec(
    `INSERT INTO ${ident(table)} (${columns.map(ident).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    columns.map((c) => row[c] ?? null),
  );
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
