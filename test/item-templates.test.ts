/**
 * Item templates are reference data on global and every shard: updateTemplate changes every node
 * or none (one two-phase commit), racing updates never leave nodes disagreeing, and getTemplate
 * never shows a half-applied patch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { rowsOn, xaRecoverAll } from './support/twopc-invariants.js';

const NODES = ['global-primary', 'alpha-primary', 'beta-primary'];
let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

/** The template's row on every node, as JSON (missing: null). */
async function everywhere(templateId: number): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const node of NODES) {
    const [row] = await rowsOn(t.sandbox, node, 'SELECT * FROM item_templates WHERE template_id = ?', [templateId]);
    out[node] = row ? JSON.stringify(row) : null;
  }
  return out;
}

const same = (rows: Record<string, string | null>) => new Set(Object.values(rows)).size === 1;

describe('item templates on every node', () => {
  it('updateTemplate changes every node, and getTemplate reads the new row', async () => {
    const id = await t.db.items.defineTemplate({ itemName: 'Red Pill', itemType: 'consumable', vendorPrice: 10 });
    await t.db.items.updateTemplate(id, { vendorPrice: 120, itemDescription: 'Stay in Wonderland', statBonuses: { focus: 3 } });
    const rows = await everywhere(id);
    expect(same(rows)).toBe(true);
    expect(JSON.parse(rows['beta-primary']!)).toMatchObject({ vendor_price: 120, item_description: 'Stay in Wonderland' });
    expect(await t.db.items.getTemplate(id)).toMatchObject({ templateId: id, vendorPrice: 120, itemDescription: 'Stay in Wonderland' });
  });

  it('an update that fails on one shard changes no node and leaves nothing prepared', async () => {
    const id = await t.db.items.defineTemplate({ itemName: 'Blue Pill', itemType: 'consumable', vendorPrice: 10 });
    // Beta lost the row (drift): the update must not apply on global and alpha alone.
    await rowsOn(t.sandbox, 'beta-primary', 'DELETE FROM item_templates WHERE template_id = ?', [id]);
    const before = await everywhere(id);
    await expect(t.db.items.updateTemplate(id, { vendorPrice: 999 })).rejects.toBeInstanceOf(NotFoundError);
    expect(await everywhere(id)).toEqual(before);
    expect(await xaRecoverAll(t.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
    expect(await t.db.items.getTemplate(id)).toMatchObject({ vendorPrice: 10 });
  });

  it('racing updates leave every node with the same row, and reads never see half a patch', async () => {
    const id = await t.db.items.defineTemplate({ itemName: 'Price 0', itemType: 'misc', vendorPrice: 0 });
    const torn: unknown[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const row = await t.db.items.getTemplate(id);
        // Each patch sets the name and the price together.
        if (row.itemName !== `Price ${row.vendorPrice}`) torn.push(row);
      }
    })();
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let i = 1; i <= 8; i++) {
          const price = w * 100 + i;
          await t.db.items.updateTemplate(id, { itemName: `Price ${price}`, vendorPrice: price });
        }
      })(),
    );
    await Promise.all(writers).finally(() => (writing = false));
    await reader;
    expect(torn).toEqual([]);
    const rows = await everywhere(id);
    expect(same(rows), JSON.stringify(rows)).toBe(true);
    const final = JSON.parse(rows['global-primary']!);
    expect(final.item_name).toBe(`Price ${final.vendor_price}`);
  });
});
