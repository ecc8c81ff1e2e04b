import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// db.verify() against a cluster with replicas: green after real traffic, and each invariant it
// guards caught when broken by hand (then put right, so the next case starts green).
let t: TestCluster;
let a: number;
let b: number;
let alpha: Connection;
let beta: Connection;
let global: Connection;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 1 });
  alpha = await t.sql('alpha-primary');
  beta = await t.sql('beta-primary');
  global = await t.sql('global-primary');
  const { accountId } = await t.db.accounts.register({ username: 'verifier', email: 'v@zion.example', password: 'verify-pass-1' });
  a = (await t.db.characters.create({ accountId, name: 'Anchor', archetype: 'spy', gender: 'male', districtId: 1 })).characterId;
  b = (await t.db.characters.create({ accountId, name: 'Beacon', archetype: 'hacker', gender: 'female', districtId: 4 })).characterId;
  await t.db.characters.adjustMoney(a, 900, 'quest_reward');
  await t.db.characters.adjustMoney(b, 200, 'admin_grant');
  const templateId = await t.db.items.defineTemplate({ itemName: 'Red Pill', itemType: 'consumable' });
  const pill = await t.db.inventory.grant(a, { templateId });
  await t.db.trades.execute({
    initiator: { characterId: a, money: 150, itemIds: [pill.itemId] },
    recipient: { characterId: b, money: 20 },
  });
  await t.db.characters.adjustMoney(b, -30, 'vendor_purchase');
  await t.db.characters.moveToDistrict(a, 5); // a now lives on beta, its ledger rows stay on alpha
  await t.db.social.createCrew({ crewName: 'Verifiers', captainId: a });
}, 120_000);
afterAll(async () => t?.stop());

describe('db.verify()', () => {
  it('passes after trades, moves and crews, and says what it checked', async () => {
    const report = await t.db.verify();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toMatchObject({ characters: 2, items: 1, replicas: 2 });
    expect(report.checked.tables).toBeGreaterThan(20);
  });

  it('catches a balance that does not match the ledger', async () => {
    await beta.query('UPDATE characters SET money = money + 1 WHERE character_id = ?', [a]);
    try {
      const report = await t.db.verify();
      expect(report.ok).toBe(false);
      expect(report.violations).toContainEqual({ check: 'money', message: `character ${a} on beta: balance 771, ledger says 770` });
    } finally {
      await beta.query('UPDATE characters SET money = money - 1 WHERE character_id = ?', [a]);
    }
  });

  it('catches an item that exists twice', async () => {
    const [[item]] = (await beta.query('SELECT * FROM character_inventory LIMIT 1')) as unknown as [[Record<string, unknown>]];
    await alpha.query(
      'INSERT INTO characters (character_id, account_id, character_name, archetype, gender, appearance_data, district_id) VALUES (999001, 1, ?, ?, ?, ?, 1)',
      ['Ghost', 'spy', 'male', '{}'],
    );
    await alpha.query('INSERT INTO character_inventory (item_id, character_id, template_id) VALUES (?, 999001, ?)', [
      item!.item_id,
      item!.template_id,
    ]);
    try {
      const report = await t.db.verify();
      expect(report.violations).toContainEqual({ check: 'items', message: `item ${item!.item_id} exists 2 times (alpha, beta)` });
      // The stray character has no directory row either.
      expect(report.violations).toContainEqual({ check: 'directory', message: 'character 999001 on alpha has no directory row' });
    } finally {
      await alpha.query('DELETE FROM characters WHERE character_id = 999001');
    }
  });

  it('catches a directory row that names the wrong shard', async () => {
    await global.query("UPDATE character_directory SET shard_name = 'alpha' WHERE character_id = ?", [b]);
    try {
      const report = await t.db.verify();
      expect(report.violations).toContainEqual({ check: 'directory', message: `directory says character ${b} is on alpha; found on beta` });
    } finally {
      await global.query("UPDATE character_directory SET shard_name = 'beta' WHERE character_id = ?", [b]);
    }
  });

  it('catches a crew whose member count drifted from its members', async () => {
    await global.query('UPDATE crews SET member_count = member_count + 2');
    try {
      const report = await t.db.verify();
      expect(report.violations.filter((v) => v.check === 'memberships')).toHaveLength(1);
      expect(report.violations[0]!.message).toMatch(/^crew \d+: member_count 3, 1 member rows$/);
    } finally {
      await global.query('UPDATE crews SET member_count = member_count - 2');
    }
  });

  it('catches a replica that differs from its primary', async () => {
    const replica = await t.sql('alpha-replica-1');
    await replica.query('SET SESSION sql_log_bin = 0');
    await replica.query(
      "INSERT INTO districts (district_id, district_name, district_type, min_x, max_x, min_y, max_y, min_z, max_z) VALUES (999, 'Tampered', 'special', 0, 0, 0, 0, 0, 0)",
    );
    try {
      const report = await t.db.verify();
      expect(report.violations).toContainEqual({
        check: 'replicas',
        message: "alpha-replica-1: table districts differs from alpha's primary",
      });
    } finally {
      await replica.query('DELETE FROM districts WHERE district_id = 999');
    }
    expect((await t.db.verify()).ok).toBe(true);
  });
});
