import { z } from 'zod';
import { textColumn, varcharColumn, id } from '../shared/fields.js';
import { NameTakenError, NotFoundError, ValidationError } from '../../errors.js';
import { BATCH_MAX_BYTES, batchesByBytes, valueBytes } from '../../writebehind/byte-budget.js';
import { DEFINE_MANY_MAX, DEFINE_MANY_ROWS, parseBatch, repeatedKey } from '../shared/batch-input.js';
import { isDuplicateKey } from '../../pool/mysql-errors.js';
import { clientObjectId } from '../shared/client-ids.js';
import type { PooledConnection } from '../../pool/pooled-connection.js';
import { GLOBAL } from '../../routing/topology.js';
import { parseInput, schemaFor } from '../../validate.js';
import type { RepoContext } from '../shared/context.js';
import { toItemTemplate, type ItemTemplate } from './item-template-row.js';

export type { ItemTemplate } from './item-template-row.js';

/** An item template (the seed's `item_templates` columns in camelCase). */
export interface ItemTemplateInput {
  /** Up to 64 characters. */
  itemName: string;
  itemType: 'weapon' | 'clothing' | 'consumable' | 'program' | 'key_item' | 'misc';
  itemDescription?: string;
  itemSubtype?: string;
  quality?: 'common' | 'uncommon' | 'rare' | 'epic' | 'legendary';
  /** 1-127. */
  itemLevel?: number;
  requirements?: Record<string, unknown>;
  statBonuses?: Record<string, unknown>;
  specialEffects?: Record<string, unknown>;
  baseValue?: number;
  vendorPrice?: number;
  stackSize?: number;
  isTradeable?: boolean;
  isDroppable?: boolean;
  isSellable?: boolean;
  bindOnPickup?: boolean;
  bindOnEquip?: boolean;
  /** The client's 32-bit object id, unique; the signed form is accepted and stored unsigned. */
  clientObjectId?: number;
  /** Worn clothing: the RSI model and colour equip draws on the character (hatModel/hatColor, ...), 0-65535. */
  rsiModel?: number;
  rsiColor?: number;
}

const json = z.record(z.string(), z.unknown());
const templateFields = {
  itemName: varcharColumn(64, 1),
  itemType: z.enum(['weapon', 'clothing', 'consumable', 'program', 'key_item', 'misc']),
  // TEXT: 65,535 bytes, not characters.
  itemDescription: textColumn().optional(),
  itemSubtype: varcharColumn(32).optional(),
  quality: z.enum(['common', 'uncommon', 'rare', 'epic', 'legendary']).optional(),
  itemLevel: z.number().int().min(1).max(127).optional(),
  requirements: json.optional(),
  statBonuses: json.optional(),
  specialEffects: json.optional(),
  baseValue: z.number().int().min(0).max(2_147_483_647).optional(),
  vendorPrice: z.number().int().min(0).max(2_147_483_647).optional(),
  stackSize: z.number().int().min(1).max(2_147_483_647).optional(),
  isTradeable: z.boolean().optional(),
  isDroppable: z.boolean().optional(),
  isSellable: z.boolean().optional(),
  bindOnPickup: z.boolean().optional(),
  bindOnEquip: z.boolean().optional(),
  clientObjectId: clientObjectId.optional(),
  rsiModel: z.number().int().min(0).max(65_535).optional(),
  rsiColor: z.number().int().min(0).max(65_535).optional(),
};
const templateInput = schemaFor<ItemTemplateInput>()(z.object(templateFields).strict());
const templatePatch = schemaFor<Partial<ItemTemplateInput>>()(
  z
    .object(templateFields)
    .partial()
    .strict()
    .refine((p) => Object.keys(p).length > 0, 'at least one field to change'),
);

/** camelCase input field -> item_templates column. */
const COLUMN: Record<keyof typeof templateFields, string> = {
  itemName: 'item_name',
  itemType: 'item_type',
  itemDescription: 'item_description',
  itemSubtype: 'item_subtype',
  quality: 'quality',
  itemLevel: 'item_level',
  requirements: 'requirements',
  statBonuses: 'stat_bonuses',
  specialEffects: 'special_effects',
  baseValue: 'base_value',
  vendorPrice: 'vendor_price',
  stackSize: 'stack_size',
  isTradeable: 'is_tradeable',
  isDroppable: 'is_droppable',
  isSellable: 'is_sellable',
  bindOnPickup: 'bind_on_pickup',
  bindOnEquip: 'bind_on_equip',
  clientObjectId: 'client_object_id',
  rsiModel: 'rsi_model',
  rsiColor: 'rsi_color',
};

function toColumns(input: Record<string, unknown>): { columns: string[]; values: unknown[] } {
  const entries = Object.entries(input).filter(([, v]) => v !== undefined);
  return {
    columns: entries.map(([k]) => COLUMN[k as keyof typeof COLUMN]),
    values: entries.map(([, v]) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v)),
  };
}

/**
 * Item templates: reference data with its master copy in global and the same rows on every
 * shard (so shard-local foreign keys and joins work). Every change reaches all of them or none.
 */
export class Items {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Defines a template on global and every shard at once; returns its id (the same everywhere).
   *
   * @example
   * const templateId = await db.items.defineTemplate({ itemName: 'Agent Sunglasses', itemType: 'clothing' });
   */
  async defineTemplate(input: ItemTemplateInput): Promise<number> {
    const data = parseInput(templateInput, input, 'item template');
    const { columns, values } = toColumns(data);
    return this.refuseTakenClientId(data.clientObjectId, () => this.defineEverywhere(columns, values));
  }

  /**
   * Defines many templates at once (a bulk import of the client's items): every element is
   * validated before any SQL (a ValidationError names each bad one, `items[3].itemName`; a
   * clientObjectId given twice is one too), then all are written on global and every shard in ONE
   * two-phase commit: all or nothing. At most {@link DEFINE_MANY_MAX} per call. A clientObjectId
   * already used is a NameTakenError naming its element (`items[2].clientObjectId`), and nothing
   * is written. Returns the new ids in input order (each the same everywhere, as `defineTemplate`'s).
   *
   * @example
   * const { templateIds } = await db.items.defineMany([
   *   { itemName: 'Long Coat', itemType: 'clothing', itemSubtype: 'coat', clientObjectId: 0x8a0f0012, rsiModel: 31 },
   *   { itemName: 'Stim', itemType: 'consumable' },
   * ]);
   */
  async defineMany(inputs: ItemTemplateInput[]): Promise<{ templateIds: number[] }> {
    const items = parseBatch(templateInput, inputs, 'item templates', 'items');
    const repeated = repeatedKey(items, (i) => i.clientObjectId, 'items', 'clientObjectId');
    if (repeated) throw new ValidationError('item templates', [repeated]);
    if (items.length === 0) return { templateIds: [] };
    // One column list for the batch; a column an element leaves out gets the column's DEFAULT.
    const present = (Object.keys(COLUMN) as Array<keyof typeof COLUMN>).filter((k) => items.some((i) => i[k] !== undefined));
    const columns = present.map((k) => COLUMN[k]);
    const rows = items.map((item) =>
      present.map((k) => {
        const v = item[k];
        return v === undefined ? DEFAULT : v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
      }),
    );
    const templateIds = await this.ctx.router.onEveryNode('define_templates', async (tx, keys) => {
      const global = await tx.branch(GLOBAL);
      const now = await decisionNow(global); // one timestamp for every row and copy
      // Global hands out the ids: one statement per row, so each id is read from its own OK packet
      // (a multi-row INSERT's ids are consecutive only under some auto-increment settings).
      const ids: number[] = [];
      for (const [i, row] of rows.entries()) {
        const values = rowSql([...row, now, now]);
        try {
          const header = await global.batch(
            `INSERT INTO item_templates (${columns.join(', ')}, created_date, last_updated) VALUES ${values.sql}`,
            values.params,
          );
          ids.push(Number(header.insertId));
        } catch (error) {
          if (isDuplicateKey(error, 'uq_item_templates_client_object_id'))
            throw new NameTakenError(`items[${i}].clientObjectId`, String(items[i]!.clientObjectId), { cause: error });
          throw error;
        }
      }
      // The shards get the same rows under the same ids, in multi-row statements under the packet limit.
      const withIds = rows.map((row, i) => [ids[i], ...row, now, now]);
      const batches = batchesByBytes(withIds, DEFINE_MANY_ROWS, BATCH_MAX_BYTES, valueBytes);
      for (const shard of keys.filter((k) => k !== GLOBAL)) {
        const conn = await tx.branch(shard);
        for (const batch of batches) {
          const tuples = batch.map(rowSql);
          await conn.batch(
            `INSERT INTO item_templates (template_id, ${columns.join(', ')}, created_date, last_updated) VALUES ${tuples.map((t) => t.sql).join(', ')}`,
            tuples.flatMap((t) => t.params),
          );
        }
      }
      return ids;
    });
    return { templateIds };
  }

  private defineEverywhere(columns: string[], values: unknown[]): Promise<number> {
    return this.ctx.router.onEveryNode('define_template', async (tx, keys) => {
      const global = await tx.branch(GLOBAL);
      // One timestamp for every copy (each server would stamp its own clock, a second apart at times).
      const now = await decisionNow(global);
      const header = await global.exec(
        `INSERT INTO item_templates (${columns.join(', ')}, created_date, last_updated) VALUES (${columns.map(() => '?').join(', ')}, ?, ?)`,
        [...values, now, now],
      );
      const templateId = Number(header.insertId);
      for (const shard of keys.filter((k) => k !== GLOBAL)) {
        const conn = await tx.branch(shard);
        await conn.exec(
          `INSERT INTO item_templates (template_id, ${columns.join(', ')}, created_date, last_updated) VALUES (?, ${columns.map(() => '?').join(', ')}, ?, ?)`,
          [templateId, ...values, now, now],
        );
      }
      return templateId;
    });
  }

  /**
   * Changes fields of a template everywhere at once.
   *
   * @example
   * await db.items.updateTemplate(templateId, { vendorPrice: 120 });
   */
  async updateTemplate(templateId: number, patch: Partial<ItemTemplateInput>): Promise<void> {
    const tid = parseInput(id, templateId, 'template id');
    const data = parseInput(templatePatch, patch, 'item template patch');
    const { columns, values } = toColumns(data);
    const assignments = columns.map((c) => `${c} = ?`).join(', ');
    await this.refuseTakenClientId(data.clientObjectId, () => this.updateEverywhere(tid, assignments, values));
  }

  private updateEverywhere(tid: number, assignments: string, values: unknown[]): Promise<void> {
    return this.ctx.router.onEveryNode('update_template', async (tx, keys) => {
      const now = await decisionNow(await tx.branch(GLOBAL));
      for (const key of keys) {
        const conn = await tx.branch(key);
        const header = await conn.exec(`UPDATE item_templates SET ${assignments}, last_updated = ? WHERE template_id = ?`, [
          ...values,
          now,
          tid,
        ]);
        if (header.affectedRows !== 1) throw new NotFoundError('item template', tid);
      }
    });
  }

  /**
   * Reads a template from global (the seed's columns, snake_case).
   *
   * @example
   * const row = await db.items.getTemplate(templateId);
   */
  async getTemplate(templateId: number): Promise<ItemTemplate> {
    const tid = parseInput(id, templateId, 'template id');
    const row = await this.ctx.router.readGlobal(
      'template_get',
      'session',
      async (conn) => (await conn.rows('SELECT * FROM item_templates WHERE template_id = ?', [tid]))[0],
    );
    if (!row) throw new NotFoundError('item template', tid);
    return toItemTemplate(row);
  }

  /**
   * The template with this client object id (signed or unsigned form), from global; null when none.
   *
   * @example
   * const template = await db.items.byClientId(0x8a0f0012);
   */
  async byClientId(id: number): Promise<ItemTemplate | null> {
    const cid = parseInput(clientObjectId, id, 'client object id');
    const [row] = await this.ctx.router.readGlobal('template_by_client_id', 'session', (conn) =>
      conn.rows('SELECT * FROM item_templates WHERE client_object_id = ?', [cid]),
    );
    return row ? toItemTemplate(row) : null;
  }

  /** A clash on the unique client object id is NameTakenError (nothing written anywhere). */
  private async refuseTakenClientId<T>(id: number | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (id !== undefined && isDuplicateKey(error, 'uq_item_templates_client_object_id'))
        throw new NameTakenError('clientObjectId', String(id), { cause: error });
      throw error;
    }
  }
}

/** The global primary's clock, once for a write that copies a row to every node (UTC, as sessions are). */
async function decisionNow(global: PooledConnection): Promise<string> {
  const [row] = await global.rows<{ now: string }>("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s') AS now");
  return row!.now;
}

/** A column an element of a batch leaves out: written as SQL DEFAULT (not a bound parameter). */
const DEFAULT = Symbol('DEFAULT');

/** One row's VALUES tuple: `?` per value, `DEFAULT` where the element left the column out. */
function rowSql(row: unknown[]): { sql: string; params: unknown[] } {
  return {
    sql: `(${row.map((v) => (v === DEFAULT ? 'DEFAULT' : '?')).join(', ')})`,
    params: row.filter((v) => v !== DEFAULT),
  };
}
