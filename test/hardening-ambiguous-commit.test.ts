import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IdempotencyKeyReusedError,
  openCluster,
  OutcomeUnknownError,
  ShardUnavailableError,
  ValidationError,
  type Cluster,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { FaultProxy } from './support/fault-proxy.js';

let t: TestCluster;
let proxy: FaultProxy;
let db: Cluster; // alpha's primary reached through the proxy
let cid: number;
let templateId: number;

async function one(sql: string, params: unknown[] = []): Promise<RowDataPacket> {
  const conn = await t.sql('alpha-primary');
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return rows[0]!;
}
const money = async () => Number((await one('SELECT money FROM characters WHERE character_id = ?', [cid])).money);
const items = async () => Number((await one('SELECT COUNT(*) AS n FROM character_inventory WHERE character_id = ?', [cid])).n);

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const alpha = t.sandbox.node('alpha-primary');
  proxy = await FaultProxy.start({ host: alpha.host, port: alpha.port });
  const port = proxy.port;
  const shards = t.config.shards.map((s) =>
    s.name === 'alpha' ? { ...s, primary: String(s.primary).replace(`:${alpha.port}/`, `:${port}/`) } : s,
  );
  expect(shards.find((s) => s.name === 'alpha')!.primary).toContain(`:${port}/`);
  db = await openCluster({ ...t.config, shards });
  const { accountId } = await t.db.accounts.register({ username: 'ambiguous', email: 'ambiguous@zion.example', password: 'ambiguous-12' });
  cid = (await t.db.characters.create({ accountId, name: 'Ambiguous', archetype: 'spy', gender: 'male', districtId: 1 })).characterId;
  templateId = await t.db.items.defineTemplate({ itemName: 'Ambiguous Coat', itemType: 'clothing', stackSize: 2 });
}, 120_000);
afterAll(async () => {
  await db?.close().catch(() => {});
  await proxy?.close();
  await t?.stop();
});

describe('a connection lost during COMMIT', () => {
  it('that committed is OutcomeUnknownError (not "unavailable"), and a retry with the key does not apply twice', async () => {
    const before = await money();
    const drop = proxy.arm({ match: /^COMMIT$/i, at: 'answered', action: 'close' });
    const first = db.characters.adjustMoney(cid, 100, 'quest_reward', { idempotencyKey: 'reward-1' });
    await expect(first).rejects.toBeInstanceOf(OutcomeUnknownError);
    await expect(first).rejects.not.toBeInstanceOf(ShardUnavailableError);
    expect(drop.fired).toEqual(['COMMIT']);
    expect(await money()).toBe(before + 100); // it did commit
    const retry = await db.characters.adjustMoney(cid, 100, 'quest_reward', { idempotencyKey: 'reward-1' });
    expect(retry).toEqual({ money: before + 100, replayed: true });
    expect(await money()).toBe(before + 100);
    expect(
      Number(
        (await one("SELECT COUNT(*) AS n FROM transaction_history WHERE to_character_id = ? AND transaction_type = 'quest_reward'", [cid]))
          .n,
      ),
    ).toBe(1);
  });

  it('that did not commit is OutcomeUnknownError too, and the retry with the key applies it once', async () => {
    const before = await money();
    proxy.arm({ match: /^COMMIT$/i, at: 'before', action: 'close' });
    await expect(db.characters.adjustMoney(cid, 7, 'drop_loot', { idempotencyKey: 'loot-1' })).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(await money()).toBe(before);
    expect(await db.characters.adjustMoney(cid, 7, 'drop_loot', { idempotencyKey: 'loot-1' })).toEqual({
      money: before + 7,
      replayed: false,
    });
    expect(await money()).toBe(before + 7);
  });

  it('inventory.grant: the retry after an ambiguous COMMIT returns the first item and creates none', async () => {
    const count = await items();
    proxy.arm({ match: /^COMMIT$/i, at: 'answered', action: 'close' });
    await expect(db.inventory.grant(cid, { templateId, acquiredMethod: 'quest', idempotencyKey: 'coat-1' })).rejects.toBeInstanceOf(
      OutcomeUnknownError,
    );
    expect(await items()).toBe(count + 1);
    const retry = await db.inventory.grant(cid, { templateId, acquiredMethod: 'quest', idempotencyKey: 'coat-1' });
    expect(await items()).toBe(count + 1);
    expect(Number((await one('SELECT MAX(item_id) AS id FROM character_inventory WHERE character_id = ?', [cid])).id)).toBe(retry.itemId);
  });

  it('a key reused with other content is a typed error and writes nothing', async () => {
    const before = await money();
    await expect(t.db.characters.adjustMoney(cid, 101, 'quest_reward', { idempotencyKey: 'reward-1' })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    await expect(t.db.inventory.grant(cid, { templateId, quantity: 2, idempotencyKey: 'coat-1' })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    expect(await money()).toBe(before);
    // Keys are namespaced by operation: the money reward's key names another request of a grant.
    const count = await items();
    expect((await t.db.inventory.grant(cid, { templateId, idempotencyKey: 'reward-1' })).templateId).toBe(templateId);
    expect(await items()).toBe(count + 1);
  });

  it('keys follow the character to another shard', async () => {
    await t.db.characters.adjustMoney(cid, 5, 'quest_reward', { idempotencyKey: 'before-move' });
    const before = await t.db.characters.get(cid, { consistency: 'strong' });
    await t.db.characters.moveToDistrict(cid, 4);
    const retry = await t.db.characters.adjustMoney(cid, 5, 'quest_reward', { idempotencyKey: 'before-move' });
    expect(retry.replayed).toBe(true);
    expect((await t.db.characters.get(cid, { consistency: 'strong' })).money).toBe(before.money);
    await t.db.characters.moveToDistrict(cid, 1);
  });

  it('money stays an exact number: a balance past 2^53 - 1 is refused', async () => {
    const conn = await t.sql('alpha-primary');
    await conn.query('UPDATE characters SET money = ? WHERE character_id = ?', [Number.MAX_SAFE_INTEGER - 10, cid]);
    await expect(t.db.characters.adjustMoney(cid, 11, 'admin_grant')).rejects.toBeInstanceOf(ValidationError);
    expect(await t.db.characters.adjustMoney(cid, 10, 'admin_grant')).toEqual({ money: Number.MAX_SAFE_INTEGER, replayed: false });
  });
});
