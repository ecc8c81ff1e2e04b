/**
 * A two-phase commit whose commit record meets recovery's abort record (recovery fenced the
 * transaction, e.g. during a failover, before the coordinator wrote its record). The record is
 * written early, beside the other branches' XA PREPARE: the duplicate key must come back as a
 * typed ConflictError, every branch rolled back, nothing written, nothing left prepared.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, resolveClusterConfig } from '../src/index.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { NodePool } from '../src/pool/node-pool.js';
import { Coordinator } from '../src/twopc/coordinator.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let pools: Map<string, NodePool>;
beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const config = resolveClusterConfig(t.config);
  const metrics = createMetrics();
  pools = new Map(
    config.shards.map((s) => [
      s.name,
      new NodePool({ shard: s.name, role: 'primary', name: `${s.name}-primary` }, s.primary, config.pool, metrics),
    ]),
  );
});
afterAll(async () => {
  for (const pool of pools?.values() ?? []) await pool.close();
  await t?.stop();
});

async function rows(node: string, text: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const conn = await t.sql(node);
  try {
    return (await conn.query<RowDataPacket[]>(text, params))[0];
  } finally {
    await conn.end();
  }
}

describe('a commit record that meets recovery’s abort record', () => {
  it('is a ConflictError; every branch rolls back and nothing stays prepared', async () => {
    const coordinator = new Coordinator((key) => pools.get(key)!, createMetrics(), { deadlockRetries: 0 });
    const marker = `fenced-${Date.now()}`;
    const run = coordinator.run('fenced_record_test', ['alpha', 'beta'], 'alpha', async (tx) => {
      const [alpha, beta] = await Promise.all([tx.branch('alpha'), tx.branch('beta')]);
      await alpha.exec("INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'commit', 'marker')", [`${marker}-a`]);
      await beta.exec("INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'commit', 'marker')", [`${marker}-b`]);
      // Recovery got here first: it fenced this gtrid with an abort record on the decision node.
      await rows('alpha-primary', "INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'abort', 'recovery')", [tx.id]);
      await Promise.all([tx.prepare('beta'), tx.prepare('alpha')]);
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(String((error as Error).message)).toMatch(/aborted by recovery/);
    for (const node of ['alpha-primary', 'beta-primary']) {
      expect(await rows(node, 'SELECT gtrid FROM twopc_decisions WHERE gtrid LIKE ?', [`${marker}%`])).toEqual([]);
      expect(await rows(node, 'XA RECOVER')).toEqual([]);
    }
  });
});
