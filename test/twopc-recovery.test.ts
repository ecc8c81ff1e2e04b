import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, type Cluster } from '../src/index.js';
import { xidLiteral } from '../src/twopc/xid.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  for (const node of ['alpha-primary', 'beta-primary']) {
    await (await t.sql(node)).query('CREATE TABLE recovery_t (id INT PRIMARY KEY, v INT)');
  }
});
afterAll(async () => t?.stop());

/** Leaves a prepared branch on `node` whose preparing session is gone (as after a coordinator crash). */
async function orphanBranch(node: string, gtrid: string, id: number): Promise<void> {
  const conn = await t.sql(node);
  const xid = xidLiteral(gtrid, `${node.split('-')[0]}:${conn.threadId}`);
  await conn.query(`XA START ${xid}`);
  await conn.query('INSERT INTO recovery_t VALUES (?, 1)', [id]);
  await conn.query(`XA END ${xid}`);
  await conn.query(`XA PREPARE ${xid}`);
  await conn.end();
}

async function rows(node: string, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
  return result;
}

describe('recovery', () => {
  it('settles orphaned branches by their decision, safely from several processes at once', async () => {
    const started = Date.now();
    const decided = Array.from({ length: 6 }, (_, i) => `mxo:global:${started}:c0ffee0${i}`);
    const undecided = Array.from({ length: 6 }, (_, i) => `mxo:global:${started}:dead00${i}`);
    for (const [i, gtrid] of [...decided, ...undecided].entries())
      await orphanBranch(i % 2 ? 'beta-primary' : 'alpha-primary', gtrid, 100 + i);
    const global = await t.sql('global-primary');
    for (const gtrid of decided)
      await global.query("INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'commit', 'test')", [gtrid]);

    // Three cluster objects (as three processes would) recover at the same time.
    const dbs: Cluster[] = await Promise.all(
      [1, 2, 3].map(() => openCluster({ ...t.config, recovery: { intervalMs: 0, gracePeriodMs: 60_000 } })),
    );
    try {
      const reports = await Promise.all(dbs.map((db) => db.recover()));
      const committed = reports.flatMap((r) => r.committed);
      const rolledBack = reports.flatMap((r) => r.rolledBack);
      // Each branch resolved exactly once across the three, with the outcome its decision says;
      // undecided orphans are fenced with an abort record at once (no wait for the grace period).
      expect(committed.map((l) => l.split('@')[0]).sort()).toEqual([...decided].sort());
      expect(rolledBack.map((l) => l.split('@')[0]).sort()).toEqual([...undecided].sort());
      expect(reports.flatMap((r) => r.pending)).toEqual([]);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
    for (const node of ['alpha-primary', 'beta-primary']) expect(await rows(node, 'XA RECOVER')).toEqual([]);
    const ids = [
      ...(await rows('alpha-primary', 'SELECT id FROM recovery_t')),
      ...(await rows('beta-primary', 'SELECT id FROM recovery_t')),
    ]
      .map((r) => Number(r.id))
      .sort((a, b) => a - b);
    expect(ids).toEqual([100, 101, 102, 103, 104, 105]);
    const fences = await rows('global-primary', "SELECT COUNT(*) AS n FROM twopc_decisions WHERE decision = 'abort' AND gtrid LIKE ?", [
      `mxo:global:${started}:dead%`,
    ]);
    expect(Number(fences[0]!.n)).toBe(6);
  });

  it('leaves a young branch whose preparing session is alive to its coordinator', async () => {
    const conn = await t.sql('alpha-primary');
    const gtrid = `mxo:global:${Date.now()}:a11ce000`;
    const xid = xidLiteral(gtrid, `alpha:${conn.threadId}`);
    await conn.query(`XA START ${xid}`);
    await conn.query('INSERT INTO recovery_t VALUES (900, 1)');
    await conn.query(`XA END ${xid}`);
    await conn.query(`XA PREPARE ${xid}`);
    const db = await openCluster({ ...t.config, recovery: { intervalMs: 0, gracePeriodMs: 60_000 } });
    try {
      const report = await db.recover();
      expect(report.pending).toEqual([`${gtrid}@alpha`]);
      expect(await rows('global-primary', 'SELECT * FROM twopc_decisions WHERE gtrid = ?', [gtrid])).toEqual([]);
      await conn.query(`XA ROLLBACK ${xid}`);
      expect((await db.recover()).pending).toEqual([]);
    } finally {
      await db.close();
    }
  });

  // The negative cases (a branch pending, a primary unreachable) are in recovery-negatives.test.ts.
  it('prunes decision records past the retention when a sweep finds nothing in doubt', async () => {
    // Time is explicit: retention one day, records two days old and fresh (no race with the clock).
    const db = await openCluster({ ...t.config, recovery: { intervalMs: 0, gracePeriodMs: 2_000, decisionRetentionMs: 86_400_000 } });
    try {
      const global = await t.sql('global-primary');
      await global.query(
        "INSERT INTO twopc_decisions (gtrid, decision, operation, decided_at) VALUES ('mxo:global:1:aa', 'commit', 'old', NOW(6) - INTERVAL 2 DAY), ('mxo:global:2:bb', 'commit', 'new', NOW(6))",
      );
      const report = await db.recover();
      expect(report.pending).toEqual([]);
      expect(report.pruned).toBeGreaterThanOrEqual(1);
      const left = await rows(
        'global-primary',
        "SELECT operation FROM twopc_decisions WHERE gtrid IN ('mxo:global:1:aa', 'mxo:global:2:bb')",
      );
      expect(left.map((r) => r.operation)).toEqual(['new']);
    } finally {
      await db.close();
    }
  });
});
