/**
 * Prepared statements stay bounded (issue 23, M10): MariaDB caps them server-wide
 * (`max_prepared_stmt_count`, 16,382), and every distinct statement text is one per connection
 * that ran it. IN-lists are padded to a few lengths (src/pool/in-list.ts), batch writes go as text,
 * and each connection keeps at most MAX_PREPARED_PER_CONNECTION (src/pool/connection-options.ts).
 */
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveClusterConfig } from '../src/index.js';
import { connectionOptions, MAX_PREPARED_PER_CONNECTION } from '../src/pool/connection-options.js';
import { paddedLength } from '../src/pool/in-list.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 1, replicasPerShard: 0, config: { pool: { max: 4 } } });
}, 120_000);
afterAll(async () => t?.stop());

async function status(name: string): Promise<number> {
  const [rows] = await (await t.sql('global-primary')).query<RowDataPacket[]>('SHOW GLOBAL STATUS LIKE ?', [name]);
  return Number(rows[0]!.Value);
}

describe('prepared statements', () => {
  it('pads IN-lists to powers of two up to 1,024', () => {
    expect([1, 2, 3, 5, 9, 500, 1000, 1024, 1025].map(paddedLength)).toEqual([1, 2, 4, 8, 16, 512, 1024, 1024, 2048]);
  });

  it('whereIs with every list length from 1 to 1,000 (four callers at once) keeps Prepared_stmt_count under 2,000', async () => {
    const before = await status('Prepared_stmt_count');
    const preparedBefore = await status('Com_stmt_prepare');
    // Four callers, each sweeping every length from its own start: every pooled connection sees
    // (nearly) every length, as a busy server's connections would.
    await Promise.all(
      [0, 250, 500, 750].map(async (offset) => {
        for (let k = 0; k < 1000; k++) {
          const n = ((k + offset) % 1000) + 1;
          const ids = Array.from({ length: n }, (_, i) => 1_000_000 + i);
          expect(await t.db.presence.whereIs(ids)).toHaveLength(n);
        }
      }),
    );
    const after = await status('Prepared_stmt_count');
    expect(after).toBeLessThan(2_000);
    expect(after - before).toBeLessThan(2_000);
    // Padding, not only the cache bound: a handful of shapes per connection were ever prepared.
    expect((await status('Com_stmt_prepare')) - preparedBefore).toBeLessThan(200);
  }, 120_000);

  it('one connection holds at most MAX_PREPARED_PER_CONNECTION statements', async () => {
    const node = resolveClusterConfig(t.config).global.primary;
    // Prepared_stmt_count is server-wide: the cluster's own background work (lag probes, the
    // maintenance loop) would prepare statements during the count, so it is closed first.
    await t.db.close();
    const conn = await mysql.createConnection(connectionOptions(node, { database: node.database }));
    try {
      const before = await status('Prepared_stmt_count');
      for (let i = 0; i < MAX_PREPARED_PER_CONNECTION * 3; i++) await conn.execute(`SELECT ? + ${i} AS n`, [1]);
      expect((await status('Prepared_stmt_count')) - before).toBeLessThanOrEqual(MAX_PREPARED_PER_CONNECTION);
    } finally {
      await conn.end();
    }
  });
});
