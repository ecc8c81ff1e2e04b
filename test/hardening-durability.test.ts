import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
}, 120_000);
afterAll(async () => {
  await (await t.sql('alpha-primary')).query('SET GLOBAL sync_binlog = 1').catch(() => {});
  await t?.stop();
});

async function gauge(registry: import('prom-client').Registry, node: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('mxo_node_durable')!.get();
  return metric.values.find((v) => v.labels.node === node)?.value;
}

describe('durability of decision-holding primaries', () => {
  it('the sandbox runs every primary with sync_binlog=1 and innodb_flush_log_at_trx_commit=1', async () => {
    const nodes = await t.db.checkDurability();
    expect(nodes.map((n) => n.node).sort()).toEqual(['alpha-primary', 'beta-primary', 'global-primary']);
    for (const n of nodes) expect(n).toMatchObject({ syncBinlog: 1, flushLogAtTrxCommit: 1, durable: true });
    expect(await gauge(t.db.metrics, 'alpha-primary')).toBe(1);
  });

  it('a primary that does not sync its binlog is reported at open: metric 0 and a process warning', async () => {
    await (await t.sql('alpha-primary')).query('SET GLOBAL sync_binlog = 0');
    const warned = new Promise<Error & { code?: string }>((resolve) => {
      const onWarning = (w: Error & { code?: string }) => {
        if (w.code !== 'MXO_UNSAFE_DURABILITY') return;
        process.off('warning', onWarning);
        resolve(w);
      };
      process.on('warning', onWarning);
    });
    const db = await openCluster(t.config); // checks in the background
    try {
      const warning = await warned;
      expect(warning.message).toContain('alpha-primary');
      expect(warning.message).toContain('sync_binlog=0');
      const nodes = await db.checkDurability();
      expect(nodes.find((n) => n.node === 'alpha-primary')).toMatchObject({ syncBinlog: 0, durable: false });
      expect(nodes.find((n) => n.node === 'beta-primary')).toMatchObject({ durable: true });
      expect(await gauge(db.metrics, 'alpha-primary')).toBe(0);
      expect(await gauge(db.metrics, 'beta-primary')).toBe(1);
    } finally {
      await db.close();
      await (await t.sql('alpha-primary')).query('SET GLOBAL sync_binlog = 1');
    }
  });
});
