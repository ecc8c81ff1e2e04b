import { InsufficientFundsError, TradeAbortedError } from '../../errors.js';
import type { PooledConnection, Row } from '../../pool/pooled-connection.js';
import type { CharacterRoute } from '../../routing/directory.js';
import type { LockClause, LockedRows } from '../../routing/router.js';
import { freeSlots } from '../shared/slot-allocation.js';
import { insertRow } from '../../schema/character-rows.js';
import { lockCharacter } from '../../routing/character-lock.js';
import { inList } from '../../pool/in-list.js';
import { checkUnchanged, snapshotsOf, type OfferedItem } from './offer-snapshot.js';

/**
 * The steps of one trade inside its transaction (local or two-phase, see src/systems/trades/trades.ts):
 * once the router has locked both parties in the global order, on each shard check balances, record the trade,
 * move money, write the ledger and move items.
 */

/** One side of a trade, with where its character lives. */
export interface Party {
  role: 'initiator' | 'recipient';
  characterId: number;
  money: number;
  itemIds: number[];
  route: CharacterRoute;
  /** A trade window's snapshots of these items: the trade refuses if any of them changed. */
  offered?: OfferedItem[];
}

/** A trade about to run: its id, parties and the transaction it runs in. */
export interface TradePlan {
  tradeId: number;
  initiator: Party;
  recipient: Party;
  crossShard: boolean;
  /** The XA transaction id of a cross-shard trade. */
  gtrid?: string;
  /** A trade window's shard: its row is marked completed there (src/systems/trades/trade-windows.ts), not inserted. */
  windowShard?: string;
}

/**
 * The parties' rows are locked by the router, one after the other in the global lock order
 * (routing/lock-order.ts), beside the work (`pipeline`): each shard's writes start as soon as the
 * locks they need are held, so a cross-shard trade writes and prepares its first shard while it
 * locks and writes the second, and costs about the round trips of one side plus the commit, not
 * of both sides in sequence (see bench/trades-bench.ts). Here each party's items are locked once
 * its character row is held. Writes take no new lock on an existing row, so the order holds.
 */
export function lockInOrder(
  plan: TradePlan,
  connOf: (p: Party) => Promise<PooledConnection>,
  rows: LockedRows,
): Map<number, Promise<Locked>> {
  const locks = new Map<number, Promise<Locked>>();
  for (const party of [plan.initiator, plan.recipient]) {
    const lock = rows.of(party.characterId).then(async (row): Promise<Locked> => {
      const conn = await connOf(party);
      return { balance: Number(row.money), ...(await lockTradeItems(conn, party, plan.crossShard, rows.forUpdate)) };
    });
    lock.catch(() => {}); // observed by applyOnShard; never an unhandled rejection
    locks.set(party.characterId, lock);
  }
  return locks;
}

/** Everything a trade writes on one shard, once the locks of its parties there are held. */
export async function applyOnShard(
  conn: PooledConnection,
  shard: string,
  plan: TradePlan,
  locks: Map<number, Promise<Locked>>,
  /** `FOR UPDATE`, or with NOWAIT in a trade's first attempt across shards ({@link LockedRows.forUpdate}). */
  forUpdate: LockClause,
): Promise<void> {
  const here = [plan.initiator, plan.recipient].filter((p) => p.route.shard === shard);
  if (here.length === 0) return; // only the window's shard, no party lives there
  const mine = new Map<Party, Locked>();
  for (const party of here) mine.set(party, await locks.get(party.characterId)!);
  checkBalances(mine);
  const anchor = here[0]!;
  if (shard !== plan.windowShard) await insertTradeSession(conn, plan, anchor);
  await moveMoney(conn, plan, mine);
  await writeLedger(conn, plan, anchor);
  await moveItems(conn, shard, plan, locks, forUpdate);
}

function checkBalances(mine: Map<Party, Locked>): void {
  for (const [party, locked] of mine) {
    if (locked.balance < party.money) throw new InsufficientFundsError(party.characterId, party.money, locked.balance);
  }
}

async function moveMoney(conn: PooledConnection, plan: TradePlan, mine: Map<Party, Locked>): Promise<void> {
  const balances = [...mine].map(([party, locked]) => {
    const other = party === plan.initiator ? plan.recipient : plan.initiator;
    return [party.characterId, locked.balance - party.money + other.money] as const;
  });
  if (balances.length === 2) {
    // Both parties here: one statement.
    const [[a, aMoney], [b, bMoney]] = balances as [readonly [number, number], readonly [number, number]];
    await conn.exec('UPDATE characters SET money = CASE character_id WHEN ? THEN ? ELSE ? END WHERE character_id IN (?, ?)', [
      a,
      aMoney,
      bMoney,
      a,
      b,
    ]);
    return;
  }
  for (const [party, locked] of mine) {
    const other = party === plan.initiator ? plan.recipient : plan.initiator;
    await conn.exec('UPDATE characters SET money = ? WHERE character_id = ?', [
      locked.balance - party.money + other.money,
      party.characterId,
    ]);
  }
}

/** Both directions of the trade, in one statement, on every shard it touched. */
async function writeLedger(conn: PooledConnection, plan: TradePlan, anchor: Party): Promise<void> {
  const { initiator, recipient } = plan;
  const rows = (
    [
      [initiator, recipient],
      [recipient, initiator],
    ] as const
  ).filter(([from]) => from.money > 0 || from.itemIds.length > 0);
  if (rows.length === 0) return;
  await conn.exec(
    `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount,
       items_transferred, transaction_reason, related_trade_id, district_id)
     VALUES ${rows.map(() => "(?, ?, 'trade', ?, ?, ?, ?, ?)").join(', ')}`,
    rows.flatMap(([from, to]) => [
      from.characterId,
      to.characterId,
      from.money,
      JSON.stringify(from.itemIds),
      plan.crossShard ? 'cross-shard trade' : 'trade',
      plan.tradeId,
      anchor.route.districtId,
    ]),
  );
}

/**
 * Items: within one shard a reassignment; across shards the giver's shard deletes its rows and
 * the taker's shard inserts the copies (ids kept), both in this transaction.
 */
async function moveItems(
  conn: PooledConnection,
  shard: string,
  plan: TradePlan,
  locks: Map<number, Promise<Locked>>,
  forUpdate: LockClause,
): Promise<void> {
  const { initiator, recipient, tradeId } = plan;
  for (const [from, to] of [
    [initiator, recipient],
    [recipient, initiator],
  ] as const) {
    if (from.itemIds.length === 0) continue;
    if (from.route.shard === shard && to.route.shard === shard) {
      await reassignItems(conn, to, from.itemIds, tradeId);
    } else if (from.route.shard === shard) {
      await conn.exec(`DELETE FROM character_inventory WHERE item_id IN ${marks(from.itemIds)} AND character_id = ?`, [
        ...padded(from.itemIds),
        from.characterId,
      ]);
    } else if (to.route.shard === shard) {
      await insertItems(conn, to, await locks.get(from.characterId)!, tradeId, forUpdate);
    }
  }
}

/** Waits for every promise to settle, then throws the first rejection (if any). */
export async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** What a party's lock returned: its balance, and the rows of the items it gives. */
export interface Locked {
  balance: number;
  items: Row[];
  /** Modifications of those items (read only when they leave the shard). */
  modifications: Row[];
}

/** `(?, ...)` padded to one of a few lengths (src/pool/in-list.ts); bind {@link padded}(ids). */
function marks(ids: number[]): string {
  return inList(ids).sql;
}

function padded(ids: number[]): number[] {
  return inList(ids).params;
}

/** Locks the items a party gives and checks they can be traded. */
async function lockTradeItems(
  conn: PooledConnection,
  party: Party,
  crossShard: boolean,
  forUpdate: LockClause,
): Promise<Omit<Locked, 'balance'>> {
  if (party.itemIds.length === 0) return { items: [], modifications: [] };
  const ids = [...party.itemIds].sort((x, y) => x - y);
  const rows = await conn.rows(
    `SELECT * FROM character_inventory WHERE item_id IN ${marks(ids)} AND character_id = ?
      ORDER BY item_id ${forUpdate}`,
    [...padded(ids), party.characterId],
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
      WHERE ci.item_id IN ${marks(ids)}
        AND (ci.is_bound OR NOT it.is_tradeable OR ci.container_type = 'equipped'
             OR EXISTS (SELECT 1 FROM character_equipment ce WHERE ce.item_id = ci.item_id))`,
    padded(ids),
  );
  if (blocked.length > 0) {
    throw new TradeAbortedError(blocked.map((b) => `item ${b.item_id} is ${b.why}`).join('; '));
  }
  // A window's offer: the items must still be what the other side confirmed (the rows are locked).
  if (party.offered) checkUnchanged(party.offered, await snapshotsOf(conn, rows));
  // Items leaving the shard take their modifications with them (ON DELETE CASCADE removes them
  // here).
  const modifications = crossShard
    ? await conn.rows(`SELECT * FROM item_modifications WHERE item_id IN ${marks(ids)} ORDER BY item_id ${forUpdate}`, padded(ids))
    : [];
  return { items: rows, modifications };
}

/** Gives items to another character on the same shard. */
async function reassignItems(conn: PooledConnection, taker: Party, ids: number[], tradeId: number): Promise<void> {
  // Each item takes the taker's next free backpack slot (both parties' rows are locked).
  const slots = await freeSlots(conn, taker.characterId, ids.length);
  for (const [i, itemId] of ids.entries()) {
    await conn.exec(
      `UPDATE character_inventory SET character_id = ?, acquired_method = 'trade', acquired_from = ?,
              container_type = 'inventory', slot_position = ?
        WHERE item_id = ?`,
      [taker.characterId, `trade:${tradeId}`, slots[i], itemId],
    );
  }
}

/** Inserts copies of items (same ids) and their modifications on the taker's shard. */
async function insertItems(conn: PooledConnection, taker: Party, given: Locked, tradeId: number, forUpdate: LockClause): Promise<void> {
  const slots = await freeSlots(conn, taker.characterId, given.items.length, forUpdate);
  for (const [i, source] of given.items.entries()) {
    await insertRow(conn, 'character_inventory', {
      ...source,
      character_id: taker.characterId,
      acquired_method: 'trade',
      acquired_from: `trade:${tradeId}`,
      container_type: 'inventory',
      slot_position: slots[i],
    });
  }
  for (const source of given.modifications) {
    const { modification_id: _ignored, ...row } = source;
    await insertRow(conn, 'item_modifications', row);
  }
}

/** The trade_sessions row of a completed trade, on the shard of `anchor`. */
export async function insertTradeSession(conn: PooledConnection, plan: TradePlan, anchor: Party): Promise<void> {
  const { tradeId, initiator, recipient, gtrid } = plan;
  await conn.exec(
    `INSERT INTO trade_sessions (trade_id, initiator_id, recipient_id, initiator_items, recipient_items, initiator_money,
       recipient_money, trade_status, initiator_confirmed, recipient_confirmed, completed_date, district_id, xa_gtrid)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'completed', TRUE, TRUE, NOW(), ?, ?)`,
    [
      tradeId,
      initiator.characterId,
      recipient.characterId,
      JSON.stringify(initiator.itemIds),
      JSON.stringify(recipient.itemIds),
      initiator.money,
      recipient.money,
      anchor.route.districtId,
      gtrid ?? null,
    ],
  );
}
