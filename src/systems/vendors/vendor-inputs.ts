/** Vendor inputs and results: the public shapes and their zod schemas (src/systems/vendors/vendors.ts uses them). */
import { z } from 'zod';
import type { Same } from '../../validate.js';
import { schemaFor } from '../../validate.js';
import { clientObjectId } from '../shared/client-ids.js';
import { amount, bigId, districtId, faction, id, idempotencyKey as key, position, varchar } from '../shared/fields.js';
import { WORN_SLOTS } from '../shared/equipment-slots.js';

/** @internal */
export const rate = z.number().finite().min(0).max(9.99);
/** @internal */
export const stockLine = z
  .object({
    templateId: id,
    maxStock: amount,
    basePrice: amount,
    currentStock: amount.optional(),
    restockAmount: amount.default(5),
    restockProbability: z.number().min(0).max(1).default(1),
  })
  .strict()
  .refine((s) => s.currentStock === undefined || s.currentStock <= s.maxStock, { path: ['currentStock'], message: 'above maxStock' });
/** @internal */
export const defineInput = z
  .object({
    vendorName: varchar(64),
    districtId,
    position,
    vendorType: z.enum(['general', 'weapon', 'clothing', 'program', 'faction', 'special']),
    factionRequirement: faction.optional(),
    levelRequirement: z.number().int().min(1).max(127).default(1),
    buyRate: rate.default(0.5),
    sellMarkup: rate.default(1.2),
    maxInventorySize: amount.default(1000),
    restocksInventory: z.boolean().default(true),
    restockInterval: amount.default(3600),
    clientObjectId: clientObjectId.optional(),
    stock: z
      .array(stockLine)
      .max(500)
      .default([])
      .refine((s) => new Set(s.map((l) => l.templateId)).size === s.length, 'template ids must not repeat'),
  })
  .strict()
  // Buying back above the selling price is a money loop (buy, sell back, repeat): refused.
  .refine((v) => v.buyRate <= v.sellMarkup, { path: ['buyRate'], message: 'must not exceed sellMarkup (a money loop)' });
/** @internal */
export const buyInput = z
  .object({
    characterId: id,
    vendorId: id,
    templateId: id,
    quantity: z.number().int().min(1).max(10_000).default(1),
    idempotencyKey: key,
  })
  .strict();
/** @internal */
export const sellInput = z.object({ characterId: id, vendorId: id, itemId: bigId, idempotencyKey: key }).strict();
// Worn clothing (0x61-0x68) cannot be sold, so a sale names a backpack slot.
/** @internal */
export const sellSlotInput = z
  .object({ characterId: id, vendorId: id, slot: z.number().int().min(0).max(WORN_SLOTS.clothing_feet.slot), idempotencyKey: key })
  .strict();

/** What {@link Vendors.define} takes; `stock` lines start full unless `currentStock` says otherwise. */
export interface VendorDefinition {
  vendorName: string;
  districtId: number;
  position: { x: number; y: number; z: number };
  vendorType: 'general' | 'weapon' | 'clothing' | 'program' | 'faction' | 'special';
  factionRequirement?: 'zion' | 'machine' | 'merovingian';
  levelRequirement?: number;
  buyRate?: number;
  sellMarkup?: number;
  maxInventorySize?: number;
  restocksInventory?: boolean;
  restockInterval?: number;
  /** The client's 32-bit object id, unique across the cluster; the signed form is accepted and stored unsigned. */
  clientObjectId?: number;
  stock?: Array<{
    templateId: number;
    maxStock: number;
    basePrice: number;
    currentStock?: number;
    restockAmount?: number;
    restockProbability?: number;
  }>;
}

/** What {@link Vendors.buy} takes (`quantity` defaults to 1). */
export interface VendorBuyInput {
  characterId: number;
  vendorId: number;
  templateId: number;
  quantity?: number;
  /** A retried call with the same key returns the first call's result instead of buying twice. */
  idempotencyKey?: string;
}

/** What {@link Vendors.sell} takes. */
export interface VendorSellInput {
  characterId: number;
  vendorId: number;
  itemId: number;
  idempotencyKey?: string;
}

/** What {@link Vendors.sellSlot} takes: the item in a client inventory slot. */
export interface VendorSellSlotInput {
  characterId: number;
  vendorId: number;
  slot: number;
  idempotencyKey?: string;
}

/** The result of a purchase. */
export interface VendorPurchase {
  itemIds: number[];
  price: number;
  money: number;
  /** True when an earlier call with the same idempotency key had already bought. */
  replayed: boolean;
}

/** The result of a sale to a vendor. */
export interface VendorSale {
  price: number;
  money: number;
  replayed: boolean;
}

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [
  Same<z.input<typeof defineInput>, VendorDefinition>,
  Same<z.input<typeof buyInput>, VendorBuyInput>,
  Same<z.input<typeof sellInput>, VendorSellInput>,
  Same<z.input<typeof sellSlotInput>, VendorSellSlotInput>,
] = [true, true, true, true];
void agrees;
