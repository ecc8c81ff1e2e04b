/**
 * Write-behind bounded in bytes and per kind (issue 23, M4): log JSON is bounded at the call,
 * batches stay under the server's max_allowed_packet, a 1153 is a row fault, every kind (the
 * coalesced ones too) isolates a poisoned row, and a flood of one kind never blocks another.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveClusterConfig, ValidationError } from '../src/index.js';
import { createMetrics, type Metrics } from '../src/metrics/metrics.js';
import { NodePool } from '../src/pool/node-pool.js';
import { VITALS } from '../src/systems/characters/vitals-writes.js';
import { WriteBehindBuffer, type LogRow } from '../src/writebehind/write-behind-buffer.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let ids: number[];
const closers: Array<() => Promise<unknown>> = [];
const MAX_LINE = 'm'.repeat(65_535); // TEXT's maximum, one byte per character

async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await (await t.sql('alpha-primary')).query<RowDataPacket[]>(sql, params);
  return result;
}

/** A pool of its own on alpha's primary (fresh sessions see a changed max_allowed_packet) and a buffer on it. */
function buffer(options: { maxQueue?: number; backpressureTimeoutMs?: number } = {}): { buf: WriteBehindBuffer; metrics: Metrics } {
  const config = resolveClusterConfig(t.config);
  const metrics = createMetrics();
  const pool = new NodePool({ shard: 'alpha', role: 'primary', name: 'alpha-primary' }, config.shards[0]!.primary, config.pool, metrics);
  const buf = new WriteBehindBuffer('alpha', pool, metrics, {
    flushIntervalMs: 3_600_000,
    maxQueue: options.maxQueue ?? 1_000,
    maxBatch: 500,
    backpressureTimeoutMs: options.backpressureTimeoutMs ?? 10_000,
  });
  closers.push(async () => {
    await buf.close().catch(() => {});
    await pool.close();
  });
  return { buf, metrics };
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
}

function chat(characterId: number, message: string): LogRow {
  return {
    table: 'chat_logs',
    values: { character_id: characterId, channel_type: 'say', message_content: message, district_id: 1, message_timestamp: new Date() },
  };
}

beforeAll(async () => {
  // One flush interval for the whole test: nothing is written but by the flushes the test asks for.
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { writeBehind: { flushIntervalMs: 600_000 } } });
  const { accountId } = await t.db.accounts.register({ username: 'flood', email: 'flood@zion.example', password: 'flood-pass-123' });
  ids = [];
  for (let i = 0; i < 6; i++) {
    ids.push((await t.db.characters.create({ accountId, name: `Flood${i}`, archetype: 'hacker', gender: 'male', districtId: 1 })).characterId);
  }
}, 120_000);
afterAll(async () => {
  for (const close of closers) await close();
  await t?.stop();
});

describe('write-behind limits', () => {
  it('refuses a 20 MB details or data object at the call, naming the field', async () => {
    const huge = { blob: 'x'.repeat(20_000_000) };
    const action = t.db.logs.action({ characterId: ids[0]!, actionType: 'hack', districtId: 1, details: huge });
    await expect(action).rejects.toBeInstanceOf(ValidationError);
    await expect(action).rejects.toMatchObject({ fields: ['details'] });
    const system = t.db.logs.system({ level: 'INFO', category: 'flood', message: 'm', districtId: 1, data: huge });
    await expect(system).rejects.toMatchObject({ fields: ['data'] });
    // 64 KiB is still taken.
    await t.db.logs.action({ characterId: ids[0]!, actionType: 'hack', districtId: 1, details: { blob: 'y'.repeat(60_000) } });
  });

  it('300 maximum-length chat lines in one flush interval do not stop positions on that shard', async () => {
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => t.db.logs.chat({ characterId: ids[i % 6]!, channel: 'say', message: MAX_LINE, districtId: 1 })),
    );
    for (const [i, id] of ids.entries()) await t.db.world.updatePosition(id, { x: 1_000 + i, y: 0, z: 0 });
    await t.db.world.flush();
    expect((await rows('SELECT COUNT(*) AS n FROM chat_logs WHERE CHAR_LENGTH(message_content) = 65535'))[0]!.n).toBe(300);
    const stored = await rows(`SELECT position_x AS x FROM characters WHERE character_id IN (${ids.join(',')}) ORDER BY character_id`);
    expect(stored.map((r) => r.x)).toEqual(ids.map((_, i) => 1_000 + i));
    // And the next positions go through as well.
    await t.db.world.updatePosition(ids[0]!, { x: 2_000, y: 0, z: 0 });
    await t.db.world.flush();
    expect((await rows('SELECT position_x AS x FROM characters WHERE character_id = ?', [ids[0]]))[0]!.x).toBe(2_000);
  }, 120_000);

  it('a flood of log rows waiting for room does not make a position wait (a depth per kind)', async () => {
    const { buf } = buffer({ maxQueue: 20, backpressureTimeoutMs: 3_000 });
    const holder = await t.sql('alpha-primary');
    // chat_logs held: the flush that the full log room asks for waits on it, and log writers queue.
    await holder.query('LOCK TABLES chat_logs WRITE');
    let appends: Promise<unknown> | undefined;
    try {
      for (let i = 0; i < 20; i++) await buf.appendLog(chat(ids[1]!, `kind-room-${i}`));
      appends = Promise.allSettled(Array.from({ length: 10 }, (_, i) => buf.appendLog(chat(ids[1]!, `kind-room-${20 + i}`))));
      // Refused with WriteBehindFullError after the back-pressure timeout if positions shared the logs' room.
      await buf.setPosition(ids[2]!, { x: 3_000, y: 0, z: 0 });
    } finally {
      await holder.query('UNLOCK TABLES');
    }
    await appends;
    await buf.flush();
    expect((await rows('SELECT position_x AS x FROM characters WHERE character_id = ?', [ids[2]]))[0]!.x).toBe(3_000);
    expect((await rows("SELECT COUNT(*) AS n FROM chat_logs WHERE message_content LIKE 'kind-room-%'"))[0]!.n).toBe(30);
  }, 60_000);

  it('a poisoned vitals row is dead-lettered alone; the others are written', async () => {
    const { buf, metrics } = buffer();
    const [a, b, c] = [ids[3]!, ids[4]!, ids[5]!];
    const root = await t.sql('alpha-primary');
    await root.query(
      `CREATE TRIGGER poison_vitals BEFORE UPDATE ON characters FOR EACH ROW
         IF NEW.character_id = ${b} AND NOT (NEW.health <=> OLD.health) THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned vitals'; END IF`,
    );
    try {
      for (const [id, health] of [[a, 11], [b, 12], [c, 13]] as const) await buf.coalesce(VITALS, String(id), { health });
      await buf.flush();
    } finally {
      await root.query('DROP TRIGGER poison_vitals');
    }
    expect(buf.depth).toBe(0);
    const health = await rows('SELECT character_id AS id, health FROM characters WHERE character_id IN (?, ?, ?) ORDER BY character_id', [a, b, c]);
    expect([health[0]!.health, health[2]!.health]).toEqual([11, 13]);
    expect(health[1]!.health).not.toBe(12);
    expect(await counter(metrics, 'mxo_write_behind_dead_letters_total', { shard: 'alpha', kind: 'vitals' })).toBe(1);
    const dead = await rows("SELECT character_id AS cid FROM system_logs WHERE log_category = 'write_behind' AND log_message LIKE '%vitals%'");
    expect(dead.map((r) => r.cid)).toEqual([b]);
  });

  it('a 1153 (packet over max_allowed_packet) is a row fault: smaller batches follow, the oversized row is a dead letter alone', async () => {
    const root = await t.sql('alpha-primary');
    const [[{ v }]] = (await root.query('SELECT @@GLOBAL.max_allowed_packet AS v')) as unknown as [[{ v: number }]];
    await root.query('SET GLOBAL max_allowed_packet = 65536'); // sessions opened from now on
    try {
      const { buf, metrics } = buffer();
      for (let i = 0; i < 10; i++) await buf.appendLog(chat(ids[0]!, `packet-small-${i}`));
      await buf.appendLog(chat(ids[0]!, `packet-big-${'b'.repeat(65_500)}`));
      for (let i = 10; i < 20; i++) await buf.appendLog(chat(ids[0]!, `packet-small-${i}`));
      let failures = 0;
      for (let attempt = 0; attempt < 20 && buf.depth > 0; attempt++) await buf.flush().catch(() => failures++);
      expect(buf.depth).toBe(0);
      expect(failures).toBeGreaterThan(0);
      expect((await rows("SELECT COUNT(*) AS n FROM chat_logs WHERE message_content LIKE 'packet-small-%'"))[0]!.n).toBe(20);
      expect((await rows("SELECT COUNT(*) AS n FROM chat_logs WHERE message_content LIKE 'packet-big-%'"))[0]!.n).toBe(0);
      expect(await counter(metrics, 'mxo_write_behind_dead_letters_total', { shard: 'alpha', kind: 'log' })).toBe(1);
    } finally {
      await root.query('SET GLOBAL max_allowed_packet = ?', [v]);
    }
  }, 120_000);
});
