import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NameTakenError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
}, 120_000);
afterAll(async () => t?.stop());

describe('client object ids of item templates', () => {
  it('stores the unsigned 32-bit id, accepts the signed form, looks it up in either form', async () => {
    const HIGH = 0x8a0f0012; // high bit set: -1978728430 as a signed 32-bit int
    const signed = HIGH | 0;
    expect(signed).toBeLessThan(0);
    const shades = await t.db.items.defineTemplate({ itemName: 'Shades', itemType: 'clothing', clientObjectId: signed });
    const coat = await t.db.items.defineTemplate({ itemName: 'Long Coat', itemType: 'clothing', clientObjectId: 0xffffffff });
    expect((await t.db.items.byClientId(HIGH))!.templateId).toBe(shades);
    expect((await t.db.items.byClientId(signed))!.templateId).toBe(shades);
    expect((await t.db.items.byClientId(-1))!.templateId).toBe(coat);
    expect(await t.db.items.byClientId(12345)).toBeNull();
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      const [rows] = await (
        await t.sql(node)
      ).query<RowDataPacket[]>('SELECT client_object_id FROM item_templates WHERE template_id IN (?, ?) ORDER BY template_id', [
        shades,
        coat,
      ]);
      expect(
        rows.map((r) => Number(r.client_object_id)),
        node,
      ).toEqual([HIGH, 0xffffffff]);
    }
  });

  it('is unique: a clash writes nothing anywhere', async () => {
    await t.db.items.defineTemplate({ itemName: 'Pistol', itemType: 'weapon', clientObjectId: 77 });
    const [[before]] = (await (
      await t.sql('beta-primary')
    ).query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM item_templates')) as unknown as [[{ n: number }]];
    await expect(t.db.items.defineTemplate({ itemName: 'Rifle', itemType: 'weapon', clientObjectId: 77 })).rejects.toBeInstanceOf(
      NameTakenError,
    );
    const rifle = await t.db.items.defineTemplate({ itemName: 'Rifle', itemType: 'weapon' });
    await expect(t.db.items.updateTemplate(rifle, { clientObjectId: 77 })).rejects.toMatchObject({
      code: 'NAME_TAKEN',
      field: 'clientObjectId',
    });
    await t.db.items.updateTemplate(rifle, { clientObjectId: 78 });
    expect((await t.db.items.byClientId(78))!.templateId).toBe(rifle);
    const [[after]] = (await (
      await t.sql('beta-primary')
    ).query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM item_templates')) as unknown as [[{ n: number }]];
    expect(Number(after.n)).toBe(Number(before.n) + 1); // only the Rifle
  });

  it('refuses what is not a 32-bit id', async () => {
    for (const bad of [2 ** 32, -(2 ** 31) - 1, 1.5]) {
      await expect(t.db.items.byClientId(bad)).rejects.toBeInstanceOf(ValidationError);
      await expect(t.db.items.defineTemplate({ itemName: 'Bad', itemType: 'misc', clientObjectId: bad })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });
});
