/**
 * Recovery's negative cases (docs/design.md, two-phase commit and recovery): decision records are
 * never pruned while a branch is in doubt or a primary cannot be scanned, and branches stay
 * prepared while their decision node is down (no decision read means no action). Time is
 * explicit: the retention is a day and the old record is two days old, so no clock race.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, ShardUnavailableError, type Cluster } from '../src/index.js';
import { xidLiteral } from '../src/twopc/xid.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const DAY_MS = 86_400_000;
type Report = Awaited<ReturnType<Cluster['recover']>>;
let t: TestCluster;
let db: Cluster;
let seq = 0;

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: { pool: { downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000 } },
  });
  for (const node of ['alpha-primary', 'beta-primary']) await (await t.sql(node)).query('CREATE TABLE recneg_t (id INT PRIMARY KEY)');
  db = await openCluster({ ...t.config, recovery: { intervalMs: 0, gracePeriodMs: 60_000, decisionRetentionMs: DAY_MS } });
});
afterAll(async () => {
  await db?.close();
  await t?.stop();
});

async function rows(node: string, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await (await t.sql(node)).query<RowDataPacket[]>(sql, params);
  return result;
}

/** Prepares a branch on `node`; the preparing session stays open unless `orphan`. */
async function prepareBranch(
  node: string,
  id: number,
  orphan: boolean,
  decisionKey = 'global',
): Promise<{ gtrid: string; xid: string; conn: Awaited<ReturnType<TestCluster['sql']>> }> {
  const conn = await t.sql(node);
  const gtrid = `mxo:${decisionKey}:${Date.now()}:${(0xbee000 + seq++).toString(16)}`;
  const xid = xidLiteral(gtrid, `${node.split('-')[0]}:${conn.threadId}`);
  await conn.query(`XA START ${xid}`);
  await conn.query('INSERT INTO recneg_t VALUES (?)', [id]);
  await conn.query(`XA END ${xid}`);
  await conn.query(`XA PREPARE ${xid}`);
  if (orphan) await conn.end();
  return { gtrid, xid, conn };
}

/** An expired decision record (two days old, retention one day) that nothing refers to. */
async function oldDecision(tag: string): Promise<string> {
  const gtrid = `mxo:global:1:${tag}`;
  await (
    await t.sql('global-primary')
  ).query("INSERT INTO twopc_decisions (gtrid, decision, operation, decided_at) VALUES (?, 'commit', 'old', NOW(6) - INTERVAL 2 DAY)", [
    gtrid,
  ]);
  return gtrid;
}

async function hasDecision(gtrid: string): Promise<boolean> {
  return (await rows('global-primary', 'SELECT 1 FROM twopc_decisions WHERE gtrid = ?', [gtrid])).length === 1;
}

async function xaOn(node: string): Promise<number> {
  return (await rows(node, 'XA RECOVER')).length;
}

/** Runs recovery until `done(report)` or 20 tries (a restarted node takes a moment to accept). */
/**
 * Runs recover() until `done`; the report returned carries what every round committed and rolled
 * back (a round may settle the branch while another node still reconnects, and the next round,
 * clean, then has nothing left to settle).
 */
async function recoverUntil(done: (r: Report) => boolean): Promise<Report> {
  let report: Report | undefined;
  const committed: string[] = [];
  const rolledBack: string[] = [];
  for (let i = 0; i < 40 && !(report && done(report)); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 250));
    report = await db.recover().catch(() => undefined); // a node that just restarted may refuse for a moment
    if (report) {
      committed.push(...report.committed);
      rolledBack.push(...report.rolledBack);
    }
  }
  if (!report) throw new Error('recover() never ran');
  return { ...report, committed, rolledBack };
}

describe('recovery negatives', () => {
  it('does not prune expired decisions while a branch is pending; prunes them once it is settled', async () => {
    const old = await oldDecision('aa01');
    const live = await prepareBranch('alpha-primary', 1, false); // young, owner connected: pending
    const report = await db.recover();
    expect(report.pending).toEqual([`${live.gtrid}@alpha`]);
    expect(report.pruned).toBe(0);
    expect(await hasDecision(old)).toBe(true);
    await live.conn.query(`XA ROLLBACK ${live.xid}`);
    // Control: the same record goes once nothing is in doubt (so the guard, not chance, kept it).
    const clean = await db.recover();
    expect(clean.pending).toEqual([]);
    expect(clean.pruned).toBeGreaterThanOrEqual(1);
    expect(await hasDecision(old)).toBe(false);
  });

  it('does not prune expired decisions while a primary is unreachable', async () => {
    const old = await oldDecision('bb02');
    await t.sandbox.kill('beta-primary');
    try {
      const report = await db.recover();
      expect(report.unreachable).toEqual(['beta']);
      expect(report.pruned).toBe(0);
      expect(await hasDecision(old)).toBe(true);
    } finally {
      await t.sandbox.restart('beta-primary');
    }
    const back = await recoverUntil((r) => r.unreachable.length === 0);
    expect(back.unreachable).toEqual([]);
    expect(back.pruned).toBeGreaterThanOrEqual(1);
    expect(await hasDecision(old)).toBe(false);
  });

  it('leaves branches prepared while their decision node is down, and settles them by the decision once it is back', async () => {
    // Both branches on alpha, their decisions on beta (gtrid mxo:beta:...): beta goes down.
    const decided = await prepareBranch('alpha-primary', 10, true, 'beta');
    const undecided = await prepareBranch('alpha-primary', 11, true, 'beta');
    await (
      await t.sql('beta-primary')
    ).query("INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'commit', 'test')", [decided.gtrid]);
    const old = await oldDecision('cc03');
    await t.sandbox.kill('beta-primary');
    try {
      const report = await db.recover();
      // Both are orphaned (their sessions are gone), yet without the decision node nothing may
      // be done to them: no fence can be written and the commit record cannot be read.
      expect(report.unreachable).toEqual(['beta']);
      expect([...report.pending].sort()).toEqual([`${decided.gtrid}@alpha`, `${undecided.gtrid}@alpha`].sort());
      expect(report.committed).toEqual([]);
      expect(report.rolledBack).toEqual([]);
      expect(report.pruned).toBe(0);
      expect(await xaOn('alpha-primary')).toBe(2);
    } finally {
      await t.sandbox.restart('beta-primary');
    }
    const settled = await recoverUntil((r) => r.pending.length === 0 && r.unreachable.length === 0);
    expect(settled.committed).toEqual([`${decided.gtrid}@alpha`]);
    expect(settled.rolledBack).toEqual([`${undecided.gtrid}@alpha`]);
    expect(await xaOn('alpha-primary')).toBe(0);
    expect((await rows('alpha-primary', 'SELECT id FROM recneg_t WHERE id IN (10, 11)')).map((r) => Number(r.id))).toEqual([10]);
    expect(
      (await rows('beta-primary', 'SELECT decision FROM twopc_decisions WHERE gtrid = ?', [undecided.gtrid])).map((r) => r.decision),
    ).toEqual(['abort']);
    // The recovery that found the decision node back and nothing in doubt prunes the old record.
    expect(await hasDecision(old)).toBe(false);
  });

  it('leaves branches prepared while the global decision node is down (recover() may refuse to run at all)', async () => {
    const decided = await prepareBranch('alpha-primary', 20, true);
    await (
      await t.sql('global-primary')
    ).query("INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'commit', 'test')", [decided.gtrid]);
    await t.sandbox.kill('global-primary');
    try {
      const report = await db.recover().catch((e: unknown) => e);
      if (report instanceof Error) expect(report).toBeInstanceOf(ShardUnavailableError);
      else expect(report).toMatchObject({ pending: [`${decided.gtrid}@alpha`], committed: [], rolledBack: [] });
      expect(await xaOn('alpha-primary')).toBe(1);
    } finally {
      await t.sandbox.restart('global-primary');
    }
    const settled = await recoverUntil((r) => r.pending.length === 0 && r.unreachable.length === 0);
    expect(settled.committed).toEqual([`${decided.gtrid}@alpha`]);
    expect(await xaOn('alpha-primary')).toBe(0);
  });
});
