import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, openCluster, type Cluster } from '../src/index.js';
import { tryLease, withLease } from '../src/ops/lease.js';
import type { NodePool } from '../src/pool/node-pool.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const CHILD = fileURLToPath(new URL('./support/hardening-lease-child.ts', import.meta.url));

let t: TestCluster;
let other: Cluster; // a second "process": its own pools and connections
const globalOf = (db: Cluster): NodePool => db.pools().find((p) => p.identity.name === 'global-primary')!;

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  other = await openCluster(t.config);
}, 120_000);
afterAll(async () => {
  await other?.close().catch(() => {});
  await t?.stop();
});

describe('leases for periodic jobs', () => {
  it('one holder at a time across clusters; free again once released', async () => {
    const release = gate();
    const entered = gate();
    const holding = tryLease(globalOf(t.db), 'job-a', async () => {
      entered.open();
      await release.opened;
      return 'ran in A';
    });
    await entered.opened;
    expect(await tryLease(globalOf(other), 'job-a', async () => 'ran in B')).toEqual({ acquired: false });
    // Another name is another lease.
    expect(await tryLease(globalOf(other), 'job-b', async () => 'b')).toEqual({ acquired: true, value: 'b' });
    // The sweep of the other cluster skips replica repair while the lease is held elsewhere.
    const repair = gate();
    const repairEntered = gate();
    const repairHolder = tryLease(globalOf(t.db), 'replica-repair', async () => {
      repairEntered.open();
      await repair.opened;
    });
    await repairEntered.opened;
    expect((await other.recover()).replicaRepairSkipped).toBe(true);
    await expect(withLease(globalOf(other), 'replica-repair', async () => 'x', { waitMs: 1_000 })).rejects.toBeInstanceOf(ConflictError);
    repair.open();
    await repairHolder;
    expect((await other.recover()).replicaRepairSkipped).toBe(false);
    release.open();
    expect(await holding).toEqual({ acquired: true, value: 'ran in A' });
    expect(await tryLease(globalOf(other), 'job-a', async () => 'ran in B')).toEqual({ acquired: true, value: 'ran in B' });
  });

  it('never runs a job in two places at once under contention', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const job = (db: Cluster) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      // A few round trips while holding the lease.
      for (let i = 0; i < 3; i++) await globalOf(db).use('lease_probe', (c) => c.rows('SELECT 1'));
      active--;
    };
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2
          ? withLease(globalOf(t.db), 'contended', job(t.db), { waitMs: 20_000 })
          : withLease(globalOf(other), 'contended', job(other), { waitMs: 20_000 }),
      ),
    );
    expect(runs).toBe(20);
    expect(maxActive).toBe(1);
  });

  it('a process that dies holding a lease frees it (the server ends its connection)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, t.configPath, 'dying-holder'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (c: Buffer) => c.toString().includes('held') && resolve());
        child.once('exit', () => reject(new Error(`child ended before holding the lease: ${stderr}`)));
      });
      expect(await tryLease(globalOf(t.db), 'dying-holder', async () => 'stolen')).toEqual({ acquired: false });
      child.kill('SIGKILL');
      await exited;
      const started = Date.now();
      const waitMs = 40_000;
      expect(await withLease(globalOf(t.db), 'dying-holder', async () => 'taken over', { waitMs })).toBe('taken over');
      // Freed with the dead holder's connection, not waited out: well under the wait it was given.
      expect((Date.now() - started) / waitMs).toBeLessThan(0.5);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('never runs two sweeps of one process at once', async () => {
    const recovery = (t.db as unknown as { recovery: { run: () => Promise<unknown> } }).recovery;
    const run = recovery.run.bind(recovery);
    let active = 0;
    let maxActive = 0;
    recovery.run = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        return await run();
      } finally {
        active--;
      }
    };
    try {
      const reports = await Promise.all([t.db.recover(), t.db.recover(), t.db.recover()]);
      expect(reports).toHaveLength(3);
      expect(maxActive).toBe(1);
    } finally {
      recovery.run = run;
    }
  });
});
