/**
 * deploy/alerts.yml: valid (`promtool check rules`), unit-tested (`promtool test rules` on
 * deploy/alerts.test.yml), and a weakened rule makes those tests fail. Then the metrics side:
 * a freshly opened cluster exposes every metric family with series at 0, every metric the rules
 * and the dashboard use exists, and every dashboard query finds a series (no "No data").
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';

async function promtool(args: string[], cwd = 'deploy'): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('alerting rules', () => {
  it('pass promtool check rules', async () => {
    const checked = await promtool(['check', 'rules', 'alerts.yml']);
    expect(checked.code, checked.out).toBe(0);
    expect(checked.out).toMatch(/SUCCESS: 10 rules found/);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const tested = await promtool(['test', 'rules', 'alerts.test.yml']);
    expect(tested.code, tested.out).toBe(0);
    expect(tested.out).toMatch(/SUCCESS/);
  });

  it('the unit tests catch a weakened rule (in-doubt alerting after 1 minute instead of 5)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mxo-alerts-'));
    try {
      const rules = await readFile('deploy/alerts.yml', 'utf8');
      const weakened = rules.replace(/(expr: max\(mxo_twopc_in_doubt\) > 0\n\s+for: )5m/, '$11m');
      expect(weakened).not.toBe(rules);
      await writeFile(path.join(dir, 'alerts.yml'), weakened);
      await copyFile('deploy/alerts.test.yml', path.join(dir, 'alerts.test.yml'));
      const tested = await promtool(['test', 'rules', 'alerts.test.yml'], dir);
      expect(tested.code).not.toBe(0);
      expect(tested.out).toMatch(/MxoTransactionsInDoubt/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the unit tests catch a weakened semi-sync rule (max instead of min: one process seeing async is enough)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mxo-alerts-'));
    try {
      const rules = await readFile('deploy/alerts.yml', 'utf8');
      const weakened = rules.replace('min by (shard) (mxo_replication_semi_sync_active)', 'max by (shard) (mxo_replication_semi_sync_active)');
      expect(weakened).not.toBe(rules);
      await writeFile(path.join(dir, 'alerts.yml'), weakened);
      await copyFile('deploy/alerts.test.yml', path.join(dir, 'alerts.test.yml'));
      const tested = await promtool(['test', 'rules', 'alerts.test.yml'], dir);
      expect(tested.code).not.toBe(0);
      expect(tested.out).toMatch(/MxoSemiSyncOff/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('metric series exist before anything happens', () => {
  let t: TestCluster;
  let exposition: string;

  beforeAll(async () => {
    t = await startTestCluster({ shards: 2, replicasPerShard: 1 });
    // The durability check runs at open; here open came before migrate created the databases
    // (in production a cluster is migrated before it is opened), so run it as open would have.
    await t.db.checkDurability();
    exposition = await t.db.metrics.metrics();
  }, 120_000);
  afterAll(async () => t?.stop());

  /** Every sample line as { name, labels }. */
  const samples = () =>
    exposition
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const m = /^([a-z_:]+)(?:\{(.*)\})? (.+)$/.exec(l)!;
        const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
        return { name: m[1]!, labels, value: Number(m[3]) };
      });

  it('every family has series at 0, for every shard, node and known reason', async () => {
    const families = [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    expect(families.length).toBeGreaterThanOrEqual(20);
    const all = samples();
    for (const family of families) {
      expect(
        all.some((s) => s.name === family || s.name.startsWith(`${family}_`)),
        family,
      ).toBe(true);
    }
    const has = (name: string, labels: Record<string, string>) =>
      all.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    // The families the issue found empty in a healthy cluster.
    for (const shard of ['global', 'alpha', 'beta']) {
      expect(has('mxo_pool_acquire_failures_total', { shard, role: 'primary', reason: 'timeout' }), shard).toBe(true);
    }
    expect(has('mxo_pool_acquire_failures_total', { shard: 'alpha', role: 'replica', reason: 'queue_full' })).toBe(true);
    expect(has('mxo_replica_gtid_wait_seconds_count', { shard: 'beta' })).toBe(true);
    expect(has('mxo_twopc_recovered_total', { action: 'commit' })).toBe(true);
    expect(has('mxo_twopc_recovered_total', { action: 'rollback' })).toBe(true);
    expect(has('mxo_deadlock_retries_total', { operation: 'trade' })).toBe(true);
    expect(has('mxo_write_behind_flush_failures_total', { shard: 'alpha' })).toBe(true);
    expect(has('mxo_write_behind_dead_letters_total', { shard: 'beta', kind: 'log' })).toBe(true);
    expect(has('mxo_replica_fallbacks_total', { shard: 'alpha', consistency: 'session', reason: 'gtid_wait_timeout' })).toBe(true);
    expect(has('mxo_twopc_in_doubt', {})).toBe(true);
    // Seeded, not invented: nothing counted yet.
    expect(all.find((s) => s.name === 'mxo_twopc_recovered_total')!.value).toBe(0);
  });

  it('every metric the alerting rules use exists', async () => {
    const rules = await readFile('deploy/alerts.yml', 'utf8');
    const used = new Set([...rules.matchAll(/\b(mxo_[a-z_]+)/g)].map((m) => m[1]!));
    const names = new Set(samples().map((s) => s.name));
    for (const name of used) expect(names.has(name), name).toBe(true);
  });

  it('every dashboard query finds at least one series in a cluster that has only been migrated', async () => {
    const dashboard = JSON.parse(await readFile('grafana/dashboards/mxo-data.json', 'utf8'));
    const exprs: string[] = [];
    const walk = (panels: Array<{ panels?: unknown[]; targets?: Array<{ expr?: string }> }>) => {
      for (const p of panels) {
        if (p.panels) walk(p.panels as typeof panels);
        for (const target of p.targets ?? []) if (target.expr) exprs.push(target.expr);
      }
    };
    walk(dashboard.panels);
    expect(exprs.length).toBeGreaterThanOrEqual(24);
    const all = samples();
    const empty: string[] = [];
    for (const expr of exprs) {
      // An `or` is answered when any side is; a side when each selector in it matches a series.
      const answered = expr
        .split(/\bor\b/)
        .some((side) =>
          [...side.matchAll(/(mxo_[a-z_]+)(?:\{([^}]*)\})?/g)].every(([, name, matchers]) =>
            all.some((s) => s.name === name && matches(s.labels, matchers ?? '')),
          ),
        );
      if (!answered) empty.push(expr);
    }
    expect(empty).toEqual([]);
  });
});

/** Label matchers of a selector (`=`, `!=`, `=~` with literal values; `$variables` match all). */
function matches(labels: Record<string, string>, matchers: string): boolean {
  for (const [, key, op, value] of matchers.matchAll(/(\w+)\s*(=~|!=|=)\s*"([^"]*)"/g)) {
    if (value!.includes('$')) continue;
    const actual = labels[key!] ?? '';
    if (op === '=' && actual !== value) return false;
    if (op === '!=' && actual === value) return false;
    if (op === '=~' && !new RegExp(`^(?:${value})$`).test(actual)) return false;
  }
  return true;
}
