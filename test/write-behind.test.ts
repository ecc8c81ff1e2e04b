import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, ValidationError, WriteBehindFullError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let ids: number[];

async function one(node: string, sql: string, params: unknown[] = []): Promise<RowDataPacket> {
  const conn = await t.sql(node);
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return rows[0]!;
}

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: { writeBehind: { flushIntervalMs: 60_000, maxQueue: 5_000, maxBatch: 200, backpressureTimeoutMs: 1_000 } },
  });
  const { accountId } = await t.db.accounts.register({ username: 'kid', email: 'kid@zion.example', password: 'kid-pass-12' });
  ids = [];
  for (let i = 0; i < 10; i++) {
    ids.push(
      (await t.db.characters.create({ accountId, name: `Runner${i}`, archetype: 'spy', gender: 'male', districtId: i % 2 ? 4 : 1 }))
        .characterId,
    );
  }
});
afterAll(async () => t?.stop());

describe('write-behind', () => {
  it('coalesces positions: the last one per character wins, in a handful of statements', async () => {
    const before = Number((await one('alpha-primary', "SHOW GLOBAL STATUS LIKE 'Com_update'")).Value);
    for (let step = 0; step < 100; step++) {
      for (const id of ids) await t.db.world.updatePosition(id, { x: step, y: id, z: -step, rotation: { x: 0, y: 0, z: 0, w: 1 } });
    }
    // Nothing written yet (the timer is long here): the buffer holds one entry per character.
    expect(Number((await one('alpha-primary', 'SELECT position_x AS x FROM characters WHERE character_id = ?', [ids[0]])).x)).toBe(0);
    await t.db.world.flush();
    for (const id of ids) {
      const node = ids.indexOf(id) % 2 ? 'beta-primary' : 'alpha-primary';
      const row = await one(node, 'SELECT position_x AS x, position_y AS y, position_z AS z FROM characters WHERE character_id = ?', [id]);
      expect([row.x, row.y, row.z]).toEqual([99, id, -99]);
    }
    const after = Number((await one('alpha-primary', "SHOW GLOBAL STATUS LIKE 'Com_update'")).Value);
    expect(after - before).toBeLessThanOrEqual(3); // 500 updates on alpha became one statement
  });

  it('writes log rows on the shard where the event happened, stamped with the event time', async () => {
    for (let i = 0; i < 300; i++) {
      await t.db.logs.action({ characterId: ids[0]!, actionType: 'attack', details: { n: i }, districtId: 1 });
    }
    // The district's shard, not the character's: an alpha character acting in beta's district 5,
    // a beta character speaking in alpha's district 2.
    const eventMs = Date.now();
    await t.db.logs.action({ characterId: ids[0]!, actionType: 'visit-beta', districtId: 5 });
    await t.db.logs.chat({ characterId: ids[1]!, channel: 'say', message: 'Wake up, Neo', districtId: 2 });
    await t.db.logs.system({ level: 'INFO', category: 'system', message: 'district up', districtId: 5 });
    const afterMs = Date.now();
    // Flush only once the clock is two seconds past the events: a flush-time stamp would show.
    while (Date.now() < afterMs + 2_000) await new Promise((r) => setTimeout(r, 50));
    await t.db.world.flush();
    expect(
      Number(
        (
          await one('alpha-primary', 'SELECT COUNT(*) AS n FROM player_action_logs WHERE character_id = ? AND action_type = ?', [
            ids[0],
            'attack',
          ])
        ).n,
      ),
    ).toBe(300);
    const where = async (sql: string, params: unknown[]) => ({
      alpha: Number((await one('alpha-primary', sql, params)).n),
      beta: Number((await one('beta-primary', sql, params)).n),
    });
    expect(await where("SELECT COUNT(*) AS n FROM player_action_logs WHERE action_type = 'visit-beta'", [])).toEqual({ alpha: 0, beta: 1 });
    expect(await where("SELECT COUNT(*) AS n FROM chat_logs WHERE message_content = 'Wake up, Neo'", [])).toEqual({ alpha: 1, beta: 0 });
    expect(await where("SELECT COUNT(*) AS n FROM system_logs WHERE log_message = 'district up'", [])).toEqual({ alpha: 0, beta: 1 });
    // DATETIME holds UTC wall-clock time (the library writes with timezone 'Z').
    const stamp = async (node: string, sql: string) =>
      Date.parse(String((await one(node, `SELECT DATE_FORMAT(${sql}, '%Y-%m-%dT%H:%i:%sZ') AS s`)).s));
    const acted = await stamp('beta-primary', "(SELECT action_timestamp FROM player_action_logs WHERE action_type = 'visit-beta')");
    expect(acted).toBeGreaterThanOrEqual(Math.floor(eventMs / 1000) * 1000);
    expect(acted).toBeLessThanOrEqual(afterMs);
    const recent = await t.db.logs.recentActions(ids[0]!, { limit: 5, consistency: 'strong' });
    expect(recent).toHaveLength(5);
    await expect(t.db.logs.action({ characterId: ids[0]!, actionType: '' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('flushes buffered positions before a character changes shard', async () => {
    await t.db.world.updatePosition(ids[0]!, { x: 7, y: 8, z: 9 });
    await t.db.characters.moveToDistrict(ids[0]!, 6);
    const row = await one(
      'beta-primary',
      'SELECT position_x AS x, position_y AS y, position_z AS z FROM characters WHERE character_id = ?',
      [ids[0]],
    );
    expect([row.x, row.y, row.z]).toEqual([7, 8, 9]);
  });

  it('applies back-pressure when a shard is down, and loses nothing once it is back', async () => {
    const db = await openCluster({
      ...t.config,
      writeBehind: { flushIntervalMs: 50, maxQueue: 20, maxBatch: 10, backpressureTimeoutMs: 500 },
    });
    try {
      await t.sandbox.kill('alpha-primary');
      let full: unknown;
      let queued = 0;
      for (let i = 0; i < 40 && !full; i++) {
        await db.logs.action({ characterId: ids[2]!, actionType: `queued-${i}`, districtId: 2 }).then(
          () => queued++,
          (e) => (full = e),
        );
      }
      expect(full).toBeInstanceOf(WriteBehindFullError);
      expect(queued).toBe(20);
      await t.sandbox.restart('alpha-primary');
      const deadline = Date.now() + 15_000;
      let written = 0;
      while (Date.now() < deadline) {
        written = Number(
          (
            await one('alpha-primary', "SELECT COUNT(*) AS n FROM player_action_logs WHERE action_type LIKE 'queued-%'").catch(() => ({
              n: 0,
            }))
          ).n,
        );
        if (written === 20) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(written).toBe(20);
      // close() flushes what is still buffered.
      await db.logs.action({ characterId: ids[2]!, actionType: 'last-words', districtId: 2 });
    } finally {
      await db.close();
    }
    expect(Number((await one('alpha-primary', "SELECT COUNT(*) AS n FROM player_action_logs WHERE action_type = 'last-words'")).n)).toBe(1);
  });
});
