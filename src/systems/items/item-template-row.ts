import { fromJson } from '../shared/fields.js';

/** An item template as stored on global (`item_templates`), camelCase and typed. */
export interface ItemTemplate {
  templateId: number;
  itemName: string;
  itemDescription: string | null;
  itemType: 'weapon' | 'clothing' | 'consumable' | 'program' | 'key_item' | 'misc';
  itemSubtype: string | null;
  quality: 'common' | 'uncommon' | 'rare' | 'epic' | 'legendary';
  itemLevel: number;
  requirements: unknown;
  statBonuses: unknown;
  specialEffects: unknown;
  baseValue: number;
  vendorPrice: number;
  stackSize: number;
  isTradeable: boolean;
  isDroppable: boolean;
  isSellable: boolean;
  bindOnPickup: boolean;
  bindOnEquip: boolean;
  modelFile: string | null;
  textureFile: string | null;
  iconFile: string | null;
  /** The client's object id (unsigned), or null. */
  clientObjectId: number | null;
  rsiModel: number | null;
  rsiColor: number | null;
  createdDate: Date;
  lastUpdated: Date;
  createdBy: number | null;
  /** Columns added by later migrations, camelCased. */
  [column: string]: unknown;
}

const BOOLEAN = new Set(['is_tradeable', 'is_droppable', 'is_sellable', 'bind_on_pickup', 'bind_on_equip']);
const JSON_COLUMNS = new Set(['requirements', 'stat_bonuses', 'special_effects']);
const NUMBER = new Set([
  'template_id',
  'item_level',
  'base_value',
  'vendor_price',
  'stack_size',
  'client_object_id',
  'rsi_model',
  'rsi_color',
  'created_by',
]);

/** A `SELECT * FROM item_templates` row as an {@link ItemTemplate}. */
export function toItemTemplate(row: Record<string, unknown>): ItemTemplate {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const key = column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    out[key] =
      value === null || value === undefined
        ? null
        : BOOLEAN.has(column)
          ? Boolean(Number(value))
          : JSON_COLUMNS.has(column)
            ? fromJson(value, null)
            : NUMBER.has(column)
              ? Number(value)
              : value;
  }
  return out as ItemTemplate;
}
