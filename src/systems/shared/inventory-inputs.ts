/** Inventory inputs and results: the public shapes and their zod schemas (src/systems/inventory/inventory.ts uses them). */
import { z } from 'zod';
import type { Same } from '../../validate.js';
import { schemaFor } from '../../validate.js';
import { BACKPACK_LAST_SLOT, WORN_SLOTS } from './equipment-slots.js';
import { fencingToken, idempotencyKey, idempotencyOptions } from './fields.js';

/** @internal Ids of inventory calls (character INT, item BIGINT): the BIGINT id schema of src/systems/shared/fields.ts. */
export { bigId as id } from './fields.js';
import { bigId as id } from './fields.js';
/** @internal */
export const grantInput = z
  .object({
    templateId: id,
    quantity: z.number().int().min(1).max(2_147_483_647).default(1),
    acquiredMethod: z.enum(['loot', 'purchase', 'trade', 'quest', 'admin']).default('admin'),
    containerType: z.enum(['inventory', 'bank', 'temp']).default('inventory'),
    // character_inventory.slot_position is a signed INT.
    slotPosition: z.number().int().min(0).max(2_147_483_647).optional(),
    // character_inventory.purity is a TINYINT UNSIGNED (the client's byte).
    purity: z.number().int().min(0).max(255).default(0),
    idempotencyKey,
  })
  .strict();

/** What {@link Inventory.grant} takes. Without `slotPosition`, an inventory item gets the first free backpack slot. */
export interface ItemGrant {
  templateId: number;
  quantity?: number;
  acquiredMethod?: 'loot' | 'purchase' | 'trade' | 'quest' | 'admin';
  containerType?: 'inventory' | 'bank' | 'temp';
  slotPosition?: number;
  /** 0-255. */
  purity?: number;
  idempotencyKey?: string;
}

/** @internal A client inventory slot: backpack 0x00-0x60, worn clothing 0x61-0x68. */
export const clientSlot = z.number().int().min(0).max(WORN_SLOTS.clothing_feet.slot);

/** Where {@link Inventory.move} puts an item. */
export interface ItemPlace {
  containerType: 'inventory' | 'bank' | 'temp';
  slotPosition?: number;
}
/** @internal */
export const careOptions = idempotencyOptions;
/** @internal */
export const placeInput = z
  .object({ containerType: z.enum(['inventory', 'bank', 'temp']), slotPosition: z.number().int().min(0).max(2_147_483_647).optional() })
  .strict();

/** What {@link Inventory.modify} takes. */
export interface ItemModification {
  modificationType: 'enhancement' | 'enchantment' | 'upgrade' | 'repair';
  modificationData: Record<string, unknown>;
  cost: number;
}
/** One row of `item_modifications`. */
export interface ItemModificationRecord {
  modificationId: number;
  modificationType: ItemModification['modificationType'];
  modificationData: Record<string, unknown>;
  appliedDate: Date;
  appliedBy: number | null;
  costPaid: number;
}
/** @internal */
export const modificationInput = z
  .object({
    modificationType: z.enum(['enhancement', 'enchantment', 'upgrade', 'repair']),
    modificationData: z
      .record(z.string(), z.unknown())
      .refine((v) => Buffer.byteLength(JSON.stringify(v), 'utf8') <= 65_536, 'larger than 64 KiB as JSON'),
    cost: z.number().int().min(0).max(2_147_483_647),
  })
  .strict();

/** One item instance (a row of character_inventory). */
export interface InventoryItem {
  itemId: number;
  characterId: number;
  templateId: number;
  quantity: number;
  durability: number;
  containerType: string;
  slotPosition: number | null;
  acquiredMethod: string;
  isBound: boolean;
  /** 0-255, the client's per-item purity. */
  purity: number;
  /** The client's item id (goid) of the template; null when the template has none. */
  clientItemId: number | null;
}

/** What {@link Inventory.grantByClientId} takes besides the client item id. */
export interface ClientItemGrant {
  /** A backpack slot (0x00-0x60); default the first free one (worn clothing: grant, then moveSlot). */
  slot?: number;
  /** Default 1. */
  count?: number;
  /** 0-255. */
  purity?: number;
  /** The caller's presence claim token (docs/design.md, "Character writes"). */
  fencingToken?: number;
}
/** @internal */
export const clientGrantInput = z
  .object({
    slot: z.number().int().min(0).max(BACKPACK_LAST_SLOT, `a backpack slot, 0..${BACKPACK_LAST_SLOT} (wear it with moveSlot)`).optional(),
    count: z.number().int().min(1).max(2_147_483_647).default(1),
    purity: z.number().int().min(0).max(255, "must be at most 255 (the client's purity byte)").default(0),
    fencingToken,
  })
  .strict();

// The public types above and their schemas agree both ways (compile-time only; Same in src/validate.ts).
const agrees: [
  Same<z.input<typeof grantInput>, ItemGrant>,
  Same<z.input<typeof placeInput>, ItemPlace>,
  Same<z.input<typeof modificationInput>, ItemModification>,
  Same<z.input<typeof clientGrantInput>, ClientItemGrant>,
] = [true, true, true, true];
void agrees;
