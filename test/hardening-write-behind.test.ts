import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, WriteBehindDeferredError } from '../src/index.js';
import { createMetrics, type Metrics } from '../src/metrics/metrics.js';
import type { NodePool } from '../src/pool/node-pool.js';
import { WriteBehindBuffer, type LogRow } from '../src/writebehind/write-behind-buffer.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
const POOL_LOCK_WAIT_SEC = 20;
let ids: number[];
let alpha: NodePool;
const buffers: WriteBehindBuffer[] = [];

async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const conn = await t.sql('alpha-primary');
  const [result] = await conn.query<RowDataPacket[]>(sql, params);
  return result;
}

/** A buffer on alpha's primary with its own metrics and no timer flushes during the test. */
function buffer(options: { maxQueue?: number; backpressureTimeoutMs?: number } = {}): { buf: WriteBehindBuffer; metrics: Metrics } {
  const metrics = createMetrics();
  const buf = new WriteBehindBuffer('alpha', alpha, metrics, {
    flushIntervalMs: 3_600_000,
    maxQueue: options.maxQueue ?? 1_000,
    maxBatch: 50,
    backpressureTimeoutMs: options.backpressureTimeoutMs ?? 10_000,
  });
  buffers.push(buf);
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
  // A long pool lock wait, so the flush's own short one (1 s) is told apart from it by a wide ratio.
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: { pool: { lockWaitTimeoutSec: POOL_LOCK_WAIT_SEC }, twoPhase: { statementTimeoutMs: 30_000 } },
  });
  alpha = t.db.pools().find((p) => p.identity.name === 'alpha-primary')!;
  const { accountId } = await t.db.accounts.register({ username: 'poison', email: 'poison@zion.example', password: 'poison-pass-12' });
  ids = [];
  for (let i = 0; i < 6; i++) {
    ids.push(
      (await t.db.characters.create({ accountId, name: `Poison${i}`, archetype: 'hacker', gender: 'female', districtId: 1 })).characterId,
    );
  }
}, 120_000);
afterAll(async () => {
  for (const b of buffers) await b.close().catch(() => {});
  await t?.stop();
});

describe('write-behind under poisoned rows', () => {
  it('validates to the columns real limits at the call: FLOAT range and TEXT bytes', async () => {
    const far = t.db.world.updatePosition(ids[0]!, { x: 1e300, y: 0, z: 0 });
    await expect(far).rejects.toBeInstanceOf(ValidationError);
    await expect(far).rejects.toMatchObject({ fields: ['x'] });
    // 30,000 emoji: 60,000 UTF-16 units (under 65,535) but 120,000 bytes (over TEXT's 65,535).
    const emoji = '\u{1F600}'.repeat(30_000);
    const chatted = t.db.logs.chat({ characterId: ids[0]!, channel: 'say', message: emoji, districtId: 1 });
    await expect(chatted).rejects.toBeInstanceOf(ValidationError);
    await expect(chatted).rejects.toMatchObject({ fields: ['message'] });
    await expect(
      t.db.logs.chat({ characterId: ids[0]!, channel: 'say', message: 'ok', districtId: 1, position: { x: -4e38, y: 0, z: 0 } }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.logs.system({ level: 'INFO', category: 'x'.repeat(33), message: 'm', districtId: 1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    // 32 emoji are 32 characters: VARCHAR(32) takes them, so validation must too.
    await t.db.logs.action({ characterId: ids[0]!, actionType: '\u{1F600}'.repeat(32), districtId: 1 });
    await t.db.world.flush();
    expect((await rows('SELECT COUNT(*) AS n FROM player_action_logs WHERE action_type = ?', ['\u{1F600}'.repeat(32)]))[0]!.n).toBe(1);
  });

  it('isolates a row the shard refuses: the rest land, the bad row is a dead letter with a system log line', async () => {
    const { buf, metrics } = buffer();
    const [a, b, c] = ids;
    await buf.setPosition(a!, { x: 11, y: 12, z: 13 });
    // No column holds NaN (updatePosition refuses it; the buffer is reached directly here): the
    // shard refuses the row (positions are DOUBLE now, so no finite value is out of range).
    await buf.setPosition(b!, { x: Number.NaN, y: 0, z: 0 });
    await buf.setPosition(c!, { x: 31, y: 32, z: 33 });
    await buf.appendLog(chat(a!, 'before the poison'));
    await buf.appendLog(chat(a!, '\u{1F600}'.repeat(30_000))); // over TEXT's 65,535 bytes
    await buf.appendLog(chat(a!, 'after the poison'));
    await buf.flush();
    expect(buf.depth).toBe(0);
    const positions = await rows(
      'SELECT character_id AS id, position_x AS x FROM characters WHERE character_id IN (?, ?, ?) ORDER BY character_id',
      [a, b, c],
    );
    expect(positions.map((r) => [r.id, r.x])).toEqual([
      [a, 11],
      [b, 0],
      [c, 31],
    ]);
    const chats = await rows(
      "SELECT message_content AS m FROM chat_logs WHERE character_id = ? AND message_content LIKE '%poison' ORDER BY message_id",
      [a],
    );
    expect(chats.map((r) => r.m)).toEqual(['before the poison', 'after the poison']);
    expect(await counter(metrics, 'mxo_write_behind_dead_letters_total', { shard: 'alpha' })).toBe(2);
    const dead = await rows(
      "SELECT log_message AS m, character_id AS cid FROM system_logs WHERE log_category = 'write_behind' ORDER BY log_id",
    );
    expect(dead).toHaveLength(2);
    expect(dead.map((r) => r.cid).sort()).toEqual([a, b].sort());
    // Later flushes are not held back by anything.
    await buf.setPosition(b!, { x: 21, y: 22, z: 23 });
    await buf.flush();
    expect((await rows('SELECT position_x AS x FROM characters WHERE character_id = ?', [b]))[0]!.x).toBe(21);
  });

  it('does not stall on a row locked by an in-doubt XA branch: others land, the locked one waits for the next flush', async () => {
    const { buf, metrics } = buffer();
    const [, , , d, e] = ids;
    const holder = await t.sql('alpha-primary');
    await holder.query("XA START 'hardening-lock'");
    await holder.query('UPDATE characters SET experience = experience + 1 WHERE character_id = ?', [d]);
    await holder.query("XA END 'hardening-lock'");
    await holder.query("XA PREPARE 'hardening-lock'");
    try {
      await buf.setPosition(d!, { x: 41, y: 0, z: 0 });
      await buf.setPosition(e!, { x: 51, y: 0, z: 0 });
      await buf.appendLog(chat(e!, 'while d is locked'));
      const started = Date.now();
      await expect(buf.flush()).rejects.toBeInstanceOf(WriteBehindDeferredError);
      // Gave up after its own short lock wait, not the pool's (20 s): a ratio with room for a busy machine.
      expect((Date.now() - started) / (POOL_LOCK_WAIT_SEC * 1000)).toBeLessThan(0.5);
      expect((await rows('SELECT position_x AS x FROM characters WHERE character_id = ?', [e]))[0]!.x).toBe(51);
      expect((await rows("SELECT COUNT(*) AS n FROM chat_logs WHERE message_content = 'while d is locked'"))[0]!.n).toBe(1);
      expect(buf.depth).toBe(1);
      expect(await counter(metrics, 'mxo_write_behind_flush_failures_total', { shard: 'alpha' })).toBe(1);
      // The flush's short lock wait does not leak into the pooled connection.
      const lockWait = await alpha.use('check', (conn) => conn.rows<{ w: number }>('SELECT @@SESSION.innodb_lock_wait_timeout AS w'));
      expect(Number(lockWait[0]!.w)).toBe(POOL_LOCK_WAIT_SEC); // pool.lockWaitTimeoutSec, not the flush's 1 s
    } finally {
      await holder.query("XA ROLLBACK 'hardening-lock'");
    }
    await buf.flush();
    expect(buf.depth).toBe(0);
    expect((await rows('SELECT position_x AS x FROM characters WHERE character_id = ?', [d]))[0]!.x).toBe(41);
    // The log row written by the failed flush was not written again.
    expect((await rows("SELECT COUNT(*) AS n FROM chat_logs WHERE message_content = 'while d is locked'"))[0]!.n).toBe(1);
  });

  it('flush() returns only after the rows the caller buffered before calling are written', async () => {
    const { buf } = buffer();
    const [a, b] = ids;
    await buf.setPosition(a!, { x: 61, y: 0, z: 0 });
    const first = buf.flush(); // takes a's row
    await buf.setPosition(b!, { x: 62, y: 0, z: 0 });
    await buf.flush(); // must cover b, not just share the flush in flight
    expect((await rows('SELECT position_x AS x FROM characters WHERE character_id = ?', [b]))[0]!.x).toBe(62);
    await first;
  });

  it('wakes only the waiters that fit when a flush makes room', async () => {
    const { buf } = buffer({ maxQueue: 2 });
    let maxDepth = 0;
    const append = async (i: number) => {
      await buf.appendLog(chat(ids[0]!, `room-${i}`));
      maxDepth = Math.max(maxDepth, buf.depth);
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6].map(append));
    expect(maxDepth).toBeLessThanOrEqual(2);
    await buf.flush();
    expect((await rows("SELECT COUNT(*) AS n FROM chat_logs WHERE message_content LIKE 'room-%'"))[0]!.n).toBe(7);
  });
});
