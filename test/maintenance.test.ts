import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// The maintenance jobs against real servers: what each one changes, and that N processes run a
// due job once, not N times.
let t: TestCluster;
let alpha: Connection;
let beta: Connection;
let global: Connection;
let accountId: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { maintenance: { intervalMs: 0, archiveInactiveDays: 30 } } });
  alpha = await t.sql('alpha-primary');
  beta = await t.sql('beta-primary');
  global = await t.sql('global-primary');
  ({ accountId } = await t.db.accounts.register({ username: 'janitor', email: 'janitor@zion.example', password: 'janitor-pass-1' }));
}, 120_000);
afterAll(async () => t?.stop());

async function count(conn: Connection, sql: string, params: unknown[] = []): Promise<number> {
  const [rows] = (await conn.query(sql, params)) as unknown as [Array<{ n: number | string }>];
  return Number(rows[0]!.n);
}

describe('db.maintenance.run()', () => {
  it('runs every job once and each one does its work', async () => {
    const online = await t.db.characters.create({ accountId, name: 'Busy', archetype: 'hacker', gender: 'male', districtId: 1 });
    await t.db.characters.setOnline(online.characterId, true);
    const idle = await t.db.characters.create({ accountId, name: 'Idle', archetype: 'spy', gender: 'female', districtId: 4 });
    await beta.query('UPDATE characters SET last_login = NOW() - INTERVAL 40 DAY, is_online = FALSE WHERE character_id = ?', [
      idle.characterId,
    ]);
    await global.query(
      "INSERT INTO account_sessions (session_id, account_id, ip_address, expires_at) VALUES (REPEAT('e', 64), ?, '10.0.0.1', NOW() - INTERVAL 1 HOUR)",
      [accountId],
    );
    const templateId = await t.db.items.defineTemplate({ itemName: 'Restock Crate', itemType: 'misc' });
    const { vendorId } = await t.db.vendors.define({
      vendorName: 'Janitor Supply',
      districtId: 2,
      position: { x: 0, y: 0, z: 0 },
      vendorType: 'general',
      restocksInventory: true,
      restockInterval: 60,
      stock: [{ templateId, maxStock: 10, basePrice: 5, currentStock: 0 }],
    });
    await alpha.query('UPDATE vendors SET last_restock = NOW() - INTERVAL 1 DAY WHERE vendor_id = ?', [vendorId]);
    const metricsBefore = await count(alpha, 'SELECT COUNT(*) AS n FROM server_metrics');
    // Two idempotency keys: one 31 days old (past the 30-day retention), one fresh.
    await t.db.characters.adjustMoney(online.characterId, 5, 'quest_reward', { idempotencyKey: 'maint-old-key' });
    await t.db.characters.adjustMoney(online.characterId, 5, 'quest_reward', { idempotencyKey: 'maint-new-key' });
    await alpha.query(
      "UPDATE idempotency_keys SET created_at = NOW() - INTERVAL 31 DAY WHERE key_hash = UNHEX(SHA2('maint-old-key', 256))",
    );

    // Handoff tickets: one consumed and one expired two days ago (past the 24 h retention), one live.
    for (const [tag, consumed, expires] of [
      ['used', 'NOW(6) - INTERVAL 2 DAY', 'NOW(6) - INTERVAL 2 DAY + INTERVAL 30 SECOND'],
      ['lapsed', 'NULL', 'NOW(6) - INTERVAL 2 DAY'],
      ['live', 'NULL', 'NOW(6) + INTERVAL 1 MINUTE'],
    ] as const) {
      await global.query(
        `INSERT INTO presence_handoffs (ticket_hash, account_id, character_id, server_id, district_id, expires_at, consumed_at)
           VALUES (UNHEX(SHA2(?, 256)), ?, ?, 'zion-1', 1, ${expires}, ${consumed})`,
        [`maint-ticket-${tag}`, accountId, online.characterId],
      );
    }
    await global.query(
      "INSERT INTO character_name_reservations (character_name, account_id, expires_at) VALUES ('Lapsedname', ?, NOW(6) - INTERVAL 1 MINUTE)",
      [accountId],
    );

    const results = await t.db.maintenance.run({ now: new Date('2028-02-15T00:00:00Z') });
    expect(await count(global, "SELECT COUNT(*) AS n FROM presence_handoffs WHERE ticket_hash LIKE '%' AND server_id = 'zion-1'")).toBe(1);
    expect(
      await count(global, "SELECT COUNT(*) AS n FROM presence_handoffs WHERE ticket_hash = UNHEX(SHA2('maint-ticket-live', 256))"),
    ).toBe(1);
    expect(await count(global, "SELECT COUNT(*) AS n FROM character_name_reservations WHERE character_name = 'Lapsedname'")).toBe(0);
    expect(results.find((r) => r.job === 'presence')!.detail).toMatch(/purged 2 old handoff tickets, 1 lapsed name reservations/);

    expect(results.map((r) => [r.job, r.outcome])).toEqual([
      ['partitions', 'ran'],
      ['economy', 'ran'],
      ['sessions', 'ran'],
      ['inactive', 'ran'],
      ['restock', 'ran'],
      ['server_metrics', 'ran'],
      ['presence', 'ran'],
      ['idempotency_keys', 'ran'],
    ]);
    // The old key is gone, the fresh one still answers a retry (no second payment).
    const keys = async (key: string) =>
      count(alpha, 'SELECT COUNT(*) AS n FROM idempotency_keys WHERE key_hash = UNHEX(SHA2(?, 256))', [key]);
    expect([await keys('maint-old-key'), await keys('maint-new-key')]).toEqual([0, 1]);
    expect(results.find((r) => r.job === 'idempotency_keys')!.detail).toBe('purged 1 idempotency keys older than 30 days');
    // Partitions: three months past Feb 2028 kept ready, on every shard and log table.
    for (const conn of [alpha, beta]) {
      for (const table of ['system_logs', 'player_action_logs', 'chat_logs']) {
        const names = (
          (await conn.query(
            'SELECT PARTITION_NAME AS p FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION',
            [table],
          )) as unknown as [Array<{ p: string }>]
        )[0].map((r) => r.p);
        expect(names.slice(-6)).toEqual(['p_202801', 'p_202802', 'p_202803', 'p_202804', 'p_202805', 'p_future']);
      }
    }
    expect(await count(global, 'SELECT COUNT(*) AS n FROM server_economy WHERE tracking_date = CURDATE()')).toBe(1);
    expect(await count(global, "SELECT COUNT(*) AS n FROM account_sessions WHERE session_id = REPEAT('e', 64)")).toBe(0);
    expect(await count(beta, 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [idle.characterId])).toBe(0);
    expect(await count(beta, 'SELECT COUNT(*) AS n FROM archived_characters WHERE character_id = ?', [idle.characterId])).toBe(1);
    expect(await count(alpha, 'SELECT current_stock AS n FROM vendor_inventory WHERE vendor_id = ?', [vendorId])).toBe(5);
    expect(await count(alpha, 'SELECT COUNT(*) AS n FROM server_metrics')).toBe(metricsBefore + 1);
    expect(await count(alpha, 'SELECT online_players AS n FROM server_metrics ORDER BY metric_id DESC LIMIT 1')).toBe(1);

    // A second run adds no partition twice (idempotent DDL).
    const again = await t.db.maintenance.run({ now: new Date('2028-02-15T00:00:00Z') });
    expect(again.find((r) => r.job === 'partitions')!.detail).toMatch(/^partitions added: none/);
  });

  it('runs a due job in one process of many: two processes at once write one snapshot per shard', async () => {
    await global.query("UPDATE maintenance_runs SET last_started = NOW(6) - INTERVAL 1 DAY WHERE job_name = 'server_metrics'");
    const before = await count(alpha, 'SELECT COUNT(*) AS n FROM server_metrics');
    const other = await openCluster(t.config);
    try {
      const [mine, theirs] = await Promise.all([t.db.maintenance.runDue(), other.maintenance.runDue()]);
      const ran = [mine, theirs].map((r) => r.find((x) => x.job === 'server_metrics')!.outcome);
      expect(ran.sort()).toEqual(['ran', 'skipped']);
      expect(await count(alpha, 'SELECT COUNT(*) AS n FROM server_metrics')).toBe(before + 1);
      // Not due again until its period has passed.
      expect((await other.maintenance.runDue()).find((x) => x.job === 'server_metrics')).toMatchObject({
        outcome: 'skipped',
        detail: 'not due',
      });
      expect(await count(alpha, 'SELECT COUNT(*) AS n FROM server_metrics')).toBe(before + 1);
    } finally {
      await other.close();
    }
  });

  it('skips a job another process is running (its lease is held)', async () => {
    const holder = await t.sql('global-primary');
    await holder.query("SELECT GET_LOCK('mxo.mxo_global.maint-economy', 0)");
    try {
      const results = await t.db.maintenance.run();
      expect(results.find((r) => r.job === 'economy')).toEqual({
        job: 'economy',
        outcome: 'skipped',
        detail: 'another process is running it',
      });
      expect(results.find((r) => r.job === 'sessions')!.outcome).toBe('ran');
    } finally {
      await holder.query("SELECT RELEASE_LOCK('mxo.mxo_global.maint-economy')");
    }
  });
});
