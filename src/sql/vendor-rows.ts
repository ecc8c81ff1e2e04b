import type { PooledConnection } from '../pool/pooled-connection.js';

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
