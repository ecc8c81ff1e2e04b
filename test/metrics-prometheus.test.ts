/**
 * A real Prometheus scrapes the library's /metrics while a real cluster (sandbox mariadbd
 * processes) takes traffic: trades on one shard and across shards, session and eventual reads, a
 * killed replica (fallbacks, acquire failures, errors), a provoked deadlock, XA branches left
 * prepared that recovery resolves, write-behind positions and log rows, online characters. Then every query of the Grafana dashboard is
 * evaluated through Prometheus's HTTP API and must return data; `promtool check metrics` must
 * accept the exposition.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { freePort } from './support/free-port.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../src/index.js';
import { branchQualifier, newGtrid, xidLiteral } from '../src/twopc/xid.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const DASHBOARD = path.join(import.meta.dirname, '..', 'grafana', 'dashboards', 'mxo-data.json');

interface Target {
  panel: string;
  expr: string;
}

/** Every PromQL expression of the dashboard (rows may nest panels). */
function dashboardTargets(): Target[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  interface Panel {
    title: string;
    panels?: Panel[];
    targets?: Array<{ expr?: string }>;
  }
  const out: Target[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** What Grafana does before sending a query: expand its variables. */
function expandGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__range', '5m')
    .replaceAll('$__interval', '5s')
    .replaceAll('${shard}', '.*')
    .replaceAll('$shard', '.*');
}

function requireBinary(name: string): void {
  const run = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    throw new Error(
      `${name} is required for this test and could not be run (${run.error?.message ?? run.stderr}); ` +
        'install it with: apt-get install -y prometheus',
    );
  }
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

interface PromVector {
  status: string;
  error?: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('Prometheus scrapes the library under traffic', () => {
  let cluster: TestCluster;
  let metricsServer: MetricsServer;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let promUrl = '';
  let workDir = '';
  const registry = new Registry();

  async function promQuery(expr: string): Promise<PromVector> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as PromVector;
  }

  beforeAll(async () => {
    requireBinary('prometheus');
    requireBinary('promtool');
    cluster = await startTestCluster({
      shards: 2,
      replicasPerShard: 1,
      open: { registry },
      config: { replicas: { monitorIntervalMs: 200 }, pool: { downBackoffMs: 300 } },
    });
    metricsServer = await startMetricsServer({ registry: cluster.db.metrics, port: 0 });

    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const target = new URL(metricsServer.url);
    await fs.writeFile(
      path.join(workDir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: mxo',
        '    scrape_timeout: 900ms',
        `    metrics_path: ${target.pathname}`,
        '    static_configs:',
        `      - targets: ['${target.host}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(workDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(workDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d: Buffer) => (prometheusLog += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (prometheusLog += d.toString()));
    await until('Prometheus to be ready', async () => {
      if (prometheus!.exitCode !== null) throw new Error(`prometheus exited ${prometheus!.exitCode}: ${prometheusLog}`);
      return (await fetch(`${promUrl}/-/ready`)).ok;
    });
  });

  afterAll(async () => {
    if (prometheus?.pid && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      process.kill(prometheus.pid, 'SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (prometheus.exitCode === null) process.kill(prometheus.pid, 'SIGKILL');
    }
    await metricsServer?.close();
    await cluster?.stop();
    if (workDir) await fs.rm(workDir, { recursive: true, force: true });
  });

  it('evaluates every dashboard query to data, and promtool accepts the exposition', { timeout: 180_000 }, async () => {
    const { db } = cluster;
    const tag = Math.random().toString(36).slice(2, 8);
    const { accountId } = await db.accounts.register({ username: `prom_${tag}`, email: `prom_${tag}@zion.example`, password: 'redpill-bluepill' });
    await db.accounts.login({ username: `prom_${tag}`, password: 'redpill-bluepill', ip: '127.0.0.1' });
    const make = (name: string, districtId: number) =>
      db.characters.create({ accountId, name: `${name}_${tag}`, archetype: 'hacker', gender: 'female', districtId });
    const [a1, a2, b1, b2] = await Promise.all([make('Alpha1', 1), make('Alpha2', 2), make('Beta1', 4), make('Beta2', 5)]);
    for (const c of [a1!, a2!, b1!, b2!]) await db.characters.adjustMoney(c.characterId, 10_000, 'admin_grant');
    const templateId = await db.items.defineTemplate({ itemName: `Sunglasses ${tag}`, itemType: 'clothing' });
    const item = await db.inventory.grant(a1!.characterId, { templateId });
    await db.inventory.list(a1!.characterId);

    // Trades: same shard (local transaction), across shards (XA), and one that aborts.
    await db.trades.execute({ initiator: { characterId: a1!.characterId, money: 5 }, recipient: { characterId: a2!.characterId } });
    await db.trades.execute({
      initiator: { characterId: a1!.characterId, money: 10, itemIds: [item.itemId] },
      recipient: { characterId: b1!.characterId },
    });
    await expect(
      db.trades.execute({ initiator: { characterId: b2!.characterId, money: 1_000_000 }, recipient: { characterId: a2!.characterId } }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await db.characters.moveToDistrict(b2!.characterId, 6);

    // Online characters: two online on alpha district 1/2, one on beta district 4.
    for (const c of [a1!, a2!, b1!]) expect(await db.characters.setOnline(c.characterId, true)).toMatchObject({ changed: true });
    expect(await db.characters.setOnline(a1!.characterId, true)).toMatchObject({ changed: false });

    // A deadlock the library retries (see provokeDeadlock).
    const [low, high] = [a1!, a2!].map((c) => c.characterId).sort((x, y) => x - y) as [number, number];
    await provokeDeadlock(cluster, low, high);
    const retries = await registry.getSingleMetric('mxo_deadlock_retries_total')!.get();
    expect(retries.values.find((v) => v.labels.operation === 'trade')?.value).toBeGreaterThanOrEqual(1);

    // XA branches on beta as a crashed coordinator leaves them: one whose session is gone
    // (recovery fences and rolls it back at once), one whose session still holds it (in doubt
    // until the grace period passes; a later sweep then ends that session and rolls it back).
    await prepareBranch(cluster, newGtrid('global', Date.now() - 60_000), b1!.characterId, { disconnect: true });
    await prepareBranch(cluster, newGtrid('global'), b1!.characterId, { disconnect: false });
    const report = await db.recover();
    expect(report.rolledBack, JSON.stringify(report)).toHaveLength(1);
    expect(report.pending, JSON.stringify(report)).toHaveLength(1);
    expect((await registry.getSingleMetric('mxo_twopc_in_doubt')!.get()).values[0]?.value).toBe(1);

    // A replica dies: reads fall back to the primary, acquires fail fast, the lag monitor notices.
    await cluster.sandbox.kill('alpha-replica-1');
    await until('the dead replica to be excluded', async () => {
      const healthy = await registry.getSingleMetric('mxo_replica_healthy')!.get();
      return healthy.values.some((v) => v.labels.node === 'alpha-replica-1' && v.value === 0);
    });

    // Steady traffic while Prometheus scrapes, so every rate() has samples in its window.
    const stop = new AbortController();
    const traffic = (async () => {
      for (let round = 0; !stop.signal.aborted; round++) {
        await db.characters.adjustMoney(b1!.characterId, 1, 'quest_reward');
        await db.characters.get(b1!.characterId, { consistency: 'session' });
        // A session continued from a token (another process): its read waits for the GTID on beta's replica.
        await db.session(db.token()).characters.get(b1!.characterId, { consistency: 'session' });
        await db.characters.get(a1!.characterId, { consistency: 'eventual' }); // alpha: falls back
        await db.characters.get(b2!.characterId, { consistency: 'eventual' });
        await db.characters.get(a2!.characterId, { consistency: 'strong' });
        await db.trades.execute({ initiator: { characterId: b1!.characterId, money: 1 }, recipient: { characterId: a1!.characterId } });
        // Write-behind: positions coalesce, log rows append; both flush in multi-row statements.
        await db.world.updatePosition(a1!.characterId, { x: round, y: 0, z: 1 });
        await db.world.updatePosition(b1!.characterId, { x: 0, y: round, z: 1 });
        await db.logs.system({ level: 'INFO', category: 'system', message: `round ${round}`, districtId: 1 });
        await db.logs.action({ characterId: b1!.characterId, actionType: 'trade', districtId: 4 });
        if (round % 10 === 0) await db.recover();
        await sleep(25);
      }
    })();

    const targets = dashboardTargets();
    expect(targets.length).toBeGreaterThanOrEqual(18);
    let missing: string[] = [];
    try {
      // Wait for a few scrapes, then until every query has data (or the deadline).
      await until('a few scrapes', async () => {
        const r = await promQuery('count_over_time(up{job="mxo"}[1m])');
        return Number(r.data?.result[0]?.value[1] ?? 0) >= 5;
      });
      const deadline = Date.now() + 30_000;
      for (;;) {
        missing = [];
        for (const t of targets) {
          const expr = expandGrafanaVariables(t.expr);
          const r = await promQuery(expr);
          if (r.status !== 'success') {
            missing.push(`${t.panel}: ${expr} -> ${r.status} ${r.error ?? ''}`);
            continue;
          }
          const finite = r.data.result.filter((s) => Number.isFinite(Number(s.value[1])));
          if (finite.length === 0) missing.push(`${t.panel}: ${expr} -> ${r.data.result.length} series, none with a finite value`);
        }
        if (missing.length === 0 || Date.now() > deadline) break;
        await sleep(1_000);
      }
    } finally {
      stop.abort();
      await traffic;
      await db.world.flush();
      // Bring the replica back before the cluster closes: closing a pool with an acquire still
      // queued on a dead node must not be left to chance in a test's teardown.
      await cluster.sandbox.restart('alpha-replica-1');
      await until('the restarted replica to rejoin', async () => {
        const healthy = await registry.getSingleMetric('mxo_replica_healthy')!.get();
        return healthy.values.some((v) => v.labels.node === 'alpha-replica-1' && v.value === 1);
      });
    }
    expect(missing, `dashboard queries without data (Prometheus log: ${prometheusLog.slice(-2000)})`).toEqual([]);

    // The scrape target is healthy and the shard variable of the dashboard has values.
    expect((await promQuery('up{job="mxo"}')).data.result[0]?.value[1]).toBe('1');
    const shards = (await (await fetch(`${promUrl}/api/v1/label/shard/values?match[]=mxo_queries_total`)).json()) as { data: string[] };
    expect(shards.data.sort()).toEqual(['alpha', 'beta', 'global']);

    // Online characters reached Prometheus with the counts set above (zero-filled districts).
    const online = await promQuery('mxo_online_characters');
    const byDistrict = Object.fromEntries(online.data.result.map((s) => [`${s.metric.shard}/${s.metric.district}`, Number(s.value[1])]));
    expect(byDistrict).toEqual({ 'alpha/1': 1, 'alpha/2': 1, 'alpha/3': 0, 'beta/4': 1, 'beta/5': 0, 'beta/6': 0 });

    // promtool lints the live exposition (after every code path above created its series).
    const exposition = await db.metrics.metrics();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });
});

/**
 * Provokes a real InnoDB deadlock that the library's trade loses and retries: another session
 * (made heavy with undo records so InnoDB picks the trade as the victim) locks `high`; the trade
 * locks `low`, then waits for `high`; the session then asks for `low`.
 */
async function provokeDeadlock(cluster: TestCluster, low: number, high: number): Promise<void> {
  const holder = await cluster.sql('alpha-primary');
  const watcher = await cluster.sql('alpha-primary');
  await holder.query('BEGIN');
  const rows = Array.from({ length: 300 }, () => "(?, 'admin_grant', 0, 'deadlock probe')").join(',');
  await holder.query(
    `INSERT INTO transaction_history (to_character_id, transaction_type, money_amount, transaction_reason) VALUES ${rows}`,
    Array.from({ length: 300 }, () => high),
  );
  await holder.query('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [high]);
  const trade = cluster.db.trades.execute({ initiator: { characterId: low, money: 1 }, recipient: { characterId: high } });
  trade.catch(() => {});
  await until('the trade to wait for the lock', async () => {
    const [r] = await watcher.query("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
    return Number((r as Array<{ n: number }>)[0]!.n) > 0;
  });
  await holder.query('SELECT money FROM characters WHERE character_id = ? FOR UPDATE', [low]);
  await holder.query('ROLLBACK');
  await trade;
}

/** A prepared XA branch whose coordinator stopped; `disconnect` also ends its session. */
async function prepareBranch(cluster: TestCluster, gtrid: string, characterId: number, opts: { disconnect: boolean }): Promise<void> {
  const conn = await cluster.sql('beta-primary');
  conn.on('error', () => {}); // recovery may KILL this session
  const xid = xidLiteral(gtrid, branchQualifier('beta', conn.threadId));
  await conn.query(`XA START ${xid}`);
  await conn.query(
    "INSERT INTO transaction_history (to_character_id, transaction_type, money_amount, transaction_reason) VALUES (?, 'admin_grant', 1, 'abandoned')",
    [characterId],
  );
  await conn.query(`XA END ${xid}`);
  await conn.query(`XA PREPARE ${xid}`);
  if (opts.disconnect) await conn.end();
}
