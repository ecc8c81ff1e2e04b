import type { PooledConnection } from '../../pool/pooled-connection.js';

/** A vendor and its stock. */
export interface Vendor {
  vendorId: number;
  vendorName: string;
  districtId: number;
  vendorType: string;
  factionRequirement: string | null;
  levelRequirement: number;
  buyRate: number;
  sellMarkup: number;
  isActive: boolean;
  lastRestock: Date;
  /** The client's unsigned 32-bit object id, or null. */
  clientObjectId: number | null;
  stock: Array<{ templateId: number; currentStock: number; maxStock: number; basePrice: number; currentPrice: number; totalSold: number }>;
}

/** Vendors matching `where` with their stock lines (one query). */
export async function readVendors(conn: PooledConnection, where: string, params: unknown[]): Promise<Vendor[]> {
  const rows = await conn.rows<Record<string, unknown>>(
    `SELECT v.*, vi.template_id, vi.current_stock, vi.max_stock, vi.base_price, vi.current_price, vi.total_sold
       FROM vendors v LEFT JOIN vendor_inventory vi ON vi.vendor_id = v.vendor_id WHERE ${where} ORDER BY v.vendor_id, vi.template_id`,
    params,
  );
  const byId = new Map<number, Vendor>();
  for (const r of rows) {
    const vid = Number(r.vendor_id);
    let v = byId.get(vid);
    if (!v) {
      v = {
        vendorId: vid,
        vendorName: String(r.vendor_name),
        districtId: Number(r.district_id),
        vendorType: String(r.vendor_type),
        factionRequirement: (r.faction_requirement as string | null) ?? null,
        levelRequirement: Number(r.level_requirement),
        buyRate: Number(r.buy_rate),
        sellMarkup: Number(r.sell_markup),
        isActive: Boolean(r.is_active),
        lastRestock: r.last_restock as Date,
        clientObjectId: r.client_object_id === null || r.client_object_id === undefined ? null : Number(r.client_object_id),
        stock: [],
      };
      byId.set(vid, v);
    }
    if (r.template_id !== null) {
      v.stock.push({
        templateId: Number(r.template_id),
        currentStock: Number(r.current_stock),
        maxStock: Number(r.max_stock),
        basePrice: Number(r.base_price),
        currentPrice: Number(r.current_price),
        totalSold: Number(r.total_sold),
      });
    }
  }
  return [...byId.values()];
}

/** The ledger row of a vendor purchase or sale (with the vendor id; the idempotency key is in idempotency_keys). */
export async function vendorLedger(
  conn: PooledConnection,
  type: 'vendor_purchase' | 'vendor_sale',
  characterId: number,
  vendorId: number,
  money: number,
  items: Array<{ itemId: number; templateId: number; quantity: number }>,
  districtId: number,
): Promise<void> {
  await conn.exec(
    `INSERT INTO transaction_history (from_character_id, to_character_id, vendor_id, transaction_type, money_amount, items_transferred,
       transaction_reason, district_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      type === 'vendor_purchase' ? characterId : null,
      type === 'vendor_sale' ? characterId : null,
      vendorId,
      type,
      money,
      JSON.stringify(items),
      type === 'vendor_purchase' ? 'vendor purchase' : 'vendor sale',
      districtId,
    ],
  );
}
