import { createHash } from 'node:crypto';
import { TradeAbortedError } from '../../errors.js';
import type { PooledConnection, Row } from '../../pool/pooled-connection.js';

/**
 * What an offered item was when it was offered (issue 23, M3 "bait-and-switch"): every property of
 * an item that a later call can change without moving it (`inventory.consume`, `modify`, `repair`,
 * `equip` binding it, a grant merging into it). A window stores its sides' snapshots; the trade's
 * own transaction compares them with the locked rows and refuses the trade when one changed.
 */
export interface OfferedItem {
  itemId: number;
  templateId: number;
  quantity: number;
  durability: number;
  bound: boolean;
  flags: number;
  /** A hash of `custom_properties` (null when none). */
  properties: string | null;
  /** The item's `item_modifications` ids, ascending (repairs and modifications add one each). */
  modifications: number[];
}

/** The fields compared, in the order a refusal names them. */
const FIELDS = ['templateId', 'quantity', 'durability', 'bound', 'flags', 'properties', 'modifications'] as const;

/**
 * The trade was refused because an offered item changed after it was offered: nothing moved and
 * the window reopened (both confirmations cleared). `field` names what changed, `offered` and
 * `now` its two values. Code `TRADE_ABORTED`, like every refused trade.
 */
export class OfferChangedError extends TradeAbortedError {
  constructor(
    readonly itemId: number,
    readonly field: (typeof FIELDS)[number] | 'missing',
    readonly offered: unknown,
    readonly now: unknown,
  ) {
    super(
      field === 'missing'
        ? `item ${itemId} changed since it was offered: it is gone`
        : `item ${itemId} changed since it was offered: ${field} ${show(offered)} -> ${show(now)}`,
    );
  }
}

function show(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

/** The snapshot of one `character_inventory` row, given its modification ids. */
export function snapshotOf(row: Row, modifications: number[]): OfferedItem {
  const props = row.custom_properties;
  return {
    itemId: Number(row.item_id),
    templateId: Number(row.template_id),
    quantity: Number(row.quantity),
    // FLOAT column: compared at the precision the server returns it.
    durability: Number(row.durability),
    bound: Boolean(Number(row.is_bound)),
    flags: Number(row.item_flags ?? 0),
    properties:
      props === null || props === undefined
        ? null
        : createHash('sha256')
            .update(typeof props === 'string' ? props : JSON.stringify(props))
            .digest('base64url'),
    modifications: [...modifications].sort((x, y) => x - y),
  };
}

/** Reads the snapshots of a character's items (the caller checks they are all there). */
export async function readSnapshots(conn: PooledConnection, characterId: number, itemIds: number[], lock = false): Promise<OfferedItem[]> {
  if (itemIds.length === 0) return [];
  const marks = itemIds.map(() => '?').join(', ');
  const rows = await conn.rows(
    `SELECT * FROM character_inventory WHERE item_id IN (${marks}) AND character_id = ? ORDER BY item_id${lock ? ' FOR UPDATE' : ''}`,
    [...itemIds, characterId],
  );
  return snapshotsOf(conn, rows);
}

/** The snapshots of locked or read rows: one query for their modification ids. */
export async function snapshotsOf(conn: PooledConnection, rows: Row[]): Promise<OfferedItem[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => Number(r.item_id));
  const mods = await conn.rows<{ item_id: number; modification_id: number }>(
    `SELECT item_id, modification_id FROM item_modifications WHERE item_id IN (${ids.map(() => '?').join(', ')})`,
    ids,
  );
  return rows.map((r) =>
    snapshotOf(
      r,
      mods.filter((m) => Number(m.item_id) === Number(r.item_id)).map((m) => Number(m.modification_id)),
    ),
  );
}

/** Throws {@link OfferChangedError} for the first offered item that is missing or differs. */
export function checkUnchanged(offered: OfferedItem[], now: OfferedItem[]): void {
  const byId = new Map(now.map((s) => [s.itemId, s]));
  for (const before of offered) {
    const after = byId.get(before.itemId);
    if (!after) throw new OfferChangedError(before.itemId, 'missing', 'present', 'gone');
    for (const field of FIELDS) {
      if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) {
        throw new OfferChangedError(before.itemId, field, before[field], after[field]);
      }
    }
  }
}

/** Parses a stored snapshot column (JSON, or null for windows offered before snapshots). */
export function parseOffered(v: unknown): OfferedItem[] | undefined {
  if (v === null || v === undefined) return undefined;
  return (typeof v === 'string' ? JSON.parse(v) : v) as OfferedItem[];
}
