import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NameTakenError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
const count = async (node: string, sql: string) => Number((await (await t.sql(node)).query<RowDataPacket[]>(sql))[0][0]!.n);
const at = { x: 0, y: 0, z: 0 };

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
}, 120_000);
afterAll(async () => t?.stop());

describe('client object ids of vendors', () => {
  it('stored unsigned, looked up in either form, on either shard', async () => {
    const HIGH = 0x9000abcd;
    const { vendorId: a } = await t.db.vendors.define({
      vendorName: 'Tailor',
      districtId: 1,
      position: at,
      vendorType: 'clothing',
      clientObjectId: HIGH | 0,
    });
    const { vendorId: b } = await t.db.vendors.define({
      vendorName: 'Gunsmith',
      districtId: 5,
      position: at,
      vendorType: 'weapon',
      clientObjectId: 42,
    });
    expect((await t.db.vendors.byClientId(HIGH))!).toMatchObject({ vendorId: a, clientObjectId: HIGH });
    expect((await t.db.vendors.byClientId(HIGH | 0))!.vendorId).toBe(a);
    expect((await t.db.vendors.byClientId(42))!).toMatchObject({ vendorId: b, districtId: 5 });
    expect(await t.db.vendors.byClientId(43)).toBeNull();
    const { vendorId: plain } = await t.db.vendors.define({ vendorName: 'Plain', districtId: 2, position: at, vendorType: 'general' });
    expect((await t.db.vendors.get(plain)).clientObjectId).toBeNull();
    await expect(t.db.vendors.byClientId(2 ** 32)).rejects.toBeInstanceOf(ValidationError);
  });

  it('unique across the cluster: a clash on another shard writes nothing anywhere', async () => {
    await t.db.vendors.define({ vendorName: 'First', districtId: 2, position: at, vendorType: 'general', clientObjectId: 777 });
    const before = {
      alpha: await count('alpha-primary', 'SELECT COUNT(*) AS n FROM vendors'),
      beta: await count('beta-primary', 'SELECT COUNT(*) AS n FROM vendors'),
      global: await count('global-primary', 'SELECT COUNT(*) AS n FROM vendor_client_ids'),
    };
    await expect(
      t.db.vendors.define({ vendorName: 'Second', districtId: 4, position: at, vendorType: 'general', clientObjectId: 777 }),
    ).rejects.toBeInstanceOf(NameTakenError);
    expect(await count('alpha-primary', 'SELECT COUNT(*) AS n FROM vendors')).toBe(before.alpha);
    expect(await count('beta-primary', 'SELECT COUNT(*) AS n FROM vendors')).toBe(before.beta);
    expect(await count('global-primary', 'SELECT COUNT(*) AS n FROM vendor_client_ids')).toBe(before.global);
  });
});
