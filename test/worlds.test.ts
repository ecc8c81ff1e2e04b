import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NameTakenError, NotFoundError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  accountId = (await t.db.accounts.register({ username: 'operator', email: 'tank@zion.example', password: 'operator-pass-1' })).accountId;
}, 120_000);
afterAll(async () => t?.stop());

describe('world registry', () => {
  it('registers worlds, takes reports stamped by the database clock, lists them', async () => {
    expect(await t.db.worlds.register({ worldId: 2, name: 'Syntax' })).toMatchObject({
      worldId: 2,
      name: 'Syntax',
      pvpType: 'pve',
      status: 'offline',
      population: 0,
      lastReportAt: null,
    });
    await t.db.worlds.register({ worldId: 1, name: 'Recursion', pvpType: 'pvp' });
    await t.db.worlds.register({ worldId: 1, name: 'Recursion', pvpType: 'pvp' }); // the same again: no change, no error
    await expect(t.db.worlds.register({ worldId: 3, name: 'Recursion' })).rejects.toBeInstanceOf(NameTakenError);
    await t.db.worlds.report(1, { status: 'online', population: 412 });
    await t.db.worlds.report(1, { status: 'busy' }); // population kept
    const list = await t.db.worlds.list();
    expect(list.map((w) => [w.worldId, w.name, w.pvpType, w.status, w.population])).toEqual([
      [1, 'Recursion', 'pvp', 'busy', 412],
      [2, 'Syntax', 'pve', 'offline', 0],
    ]);
    const [[clock]] = (await (await t.sql('global-primary')).query<RowDataPacket[]>('SELECT NOW(6) AS now')) as unknown as [
      [{ now: Date }],
    ];
    expect(Math.abs(list[0]!.lastReportAt!.getTime() - new Date(clock.now).getTime())).toBeLessThan(60_000);
    await expect(t.db.worlds.report(9, { status: 'online' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.worlds.report(1, { status: 'melting' as never })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.worlds.report(1, { status: 'online', population: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.worlds.register({ worldId: 0, name: 'Zero' })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.worlds.register({ worldId: 4, name: 'x'.repeat(65) })).rejects.toBeInstanceOf(ValidationError);
  });

  it('each character names its world, on its shard and in the directory', async () => {
    await t.db.worlds.register({ worldId: 7, name: 'Vector' });
    const cid = (await t.db.characters.create({ accountId, name: 'Worldly', archetype: 'spy', gender: 'female', districtId: 4 }))
      .characterId;
    await t.db.worlds.assignCharacter(cid, 7);
    const [[shardRow]] = (await (
      await t.sql('beta-primary')
    ).query<RowDataPacket[]>('SELECT world_id FROM characters WHERE character_id = ?', [cid])) as unknown as [[{ world_id: number }]];
    const [[dirRow]] = (await (
      await t.sql('global-primary')
    ).query<RowDataPacket[]>('SELECT world_id FROM character_directory WHERE character_id = ?', [cid])) as unknown as [
      [{ world_id: number }],
    ];
    expect([shardRow.world_id, dirRow.world_id]).toEqual([7, 7]);
    await expect(t.db.worlds.assignCharacter(cid, 99)).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.worlds.assignCharacter(999_999, 7)).rejects.toBeInstanceOf(NotFoundError);
  });
});
