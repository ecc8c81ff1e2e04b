import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import * as path from 'node:path';
import { register as globalRegistry, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, metricsHandler, startMetricsServer, type MetricsServer } from '../src/index.js';
import { OnlineCharactersCollector } from '../src/metrics/online-characters.js';

/** Every family the library exports; the dashboard and docs/observability.md use these names. */
const FAMILIES = {
  mxo_query_duration_seconds: 'histogram',
  mxo_queries_total: 'counter',
  mxo_pool_connections: 'gauge',
  mxo_pool_acquire_wait_seconds: 'histogram',
  mxo_pool_acquire_failures_total: 'counter',
  mxo_replica_lag_seconds: 'gauge',
  mxo_replica_healthy: 'gauge',
  mxo_replica_fallbacks_total: 'counter',
  mxo_replica_gtid_wait_seconds: 'histogram',
  mxo_reads_total: 'counter',
  mxo_twopc_transactions_total: 'counter',
  mxo_twopc_phase_duration_seconds: 'histogram',
  mxo_twopc_in_doubt: 'gauge',
  mxo_twopc_recovered_total: 'counter',
  mxo_deadlock_retries_total: 'counter',
  mxo_lock_nowait_fallbacks_total: 'counter',
  mxo_write_behind_queue_depth: 'gauge',
  mxo_write_behind_flush_duration_seconds: 'histogram',
  mxo_write_behind_flushed_rows_total: 'counter',
  mxo_write_behind_flush_failures_total: 'counter',
  mxo_write_behind_dead_letters_total: 'counter',
  mxo_node_durable: 'gauge',
  mxo_online_characters: 'gauge',
  mxo_replication_semi_sync_active: 'gauge',
} as const;

/** Runs `promtool check metrics` on an exposition; fails with a clear message when promtool is missing. */
function promtoolCheck(exposition: string): { status: number; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `promtool is required for this test and could not be run (${run.error.message}); ` +
        'install it with: apt-get install -y prometheus',
    );
  }
  return { status: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

/** One sample in every family, with label values like the library's. */
function fill(registry: Registry) {
  const m = createMetrics(registry);
  const node = { shard: 'alpha', role: 'primary' };
  m.queries.inc({ ...node, operation: 'character_get', outcome: 'ok' });
  m.queryDuration.observe({ ...node, operation: 'character_get', outcome: 'ok' }, 0.002);
  m.poolConnections.set({ ...node, node: 'alpha-primary', state: 'idle' }, 2);
  m.poolAcquireWait.observe(node, 0.0001);
  m.poolAcquireFailures.inc({ ...node, reason: 'timeout' });
  m.replicaLag.set({ shard: 'alpha', node: 'alpha-replica-1' }, 0.01);
  m.replicaHealthy.set({ shard: 'alpha', node: 'alpha-replica-1' }, 1);
  m.replicaFallbacks.inc({ shard: 'alpha', consistency: 'eventual', reason: 'no_healthy_replica' });
  m.replicaWait.observe({ shard: 'alpha' }, 0.0003);
  m.reads.inc({ shard: 'alpha', role: 'replica', consistency: 'session' });
  m.twopcTransactions.inc({ operation: 'trade', outcome: 'committed' });
  m.twopcPhaseDuration.observe({ operation: 'trade', phase: 'prepare' }, 0.004);
  m.twopcInDoubt.set(0);
  m.twopcRecovered.inc({ action: 'commit' });
  m.deadlockRetries.inc({ operation: 'trade' });
  m.lockNowaitFallbacks.inc({ operation: 'trade' });
  m.writeBehindQueueDepth.set({ shard: 'alpha' }, 12);
  m.writeBehindFlushDuration.observe({ shard: 'alpha' }, 0.003);
  m.writeBehindFlushedRows.inc({ shard: 'alpha', kind: 'position' }, 12);
  m.onlineCharacters.set({ shard: 'alpha', district: '1' }, 3);
  return m;
}

function get(url: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metric families', () => {
  it('are exactly the families the Grafana dashboard charts', () => {
    const dashboard = readFileSync(path.join(import.meta.dirname, '..', 'grafana', 'dashboards', 'mxo-data.json'), 'utf8');
    const used = new Set([...dashboard.matchAll(/\b(mxo_[a-z0-9_]+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!));
    expect([...used].sort()).toEqual(Object.keys(FAMILIES).sort());
  });

  it('registers every family with its type in the given registry, none in the global one', async () => {
    const registry = new Registry();
    fill(registry);
    const json = await registry.getMetricsAsJSON();
    const types = Object.fromEntries(json.map((m) => [m.name, String(m.type)]));
    expect(types).toEqual(FAMILIES);
    for (const name of Object.keys(FAMILIES)) expect(globalRegistry.getSingleMetric(name)).toBeUndefined();
  });

  it('reuses the families when two clusters share one registry', () => {
    const registry = new Registry();
    const a = createMetrics(registry);
    const b = createMetrics(registry);
    expect(b.queries).toBe(a.queries);
    expect(b.onlineCharacters).toBe(a.onlineCharacters);
    expect(b.asyncCollectors).toBe(a.asyncCollectors);
  });

  it('passes promtool check metrics (names, units, help, types)', async () => {
    const registry = new Registry();
    fill(registry);
    const { status, output } = promtoolCheck(await registry.metrics());
    expect(output).toBe('');
    expect(status).toBe(0);
  });
});

describe('/metrics handler and server', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the registry at GET /metrics with the exposition content type', async () => {
    const registry = new Registry();
    fill(registry);
    server = await startMetricsServer({ registry, port: 0 });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    const res = await get(server.url);
    expect(res.status).toBe(200);
    expect(res.type).toBe(registry.contentType);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('mxo_queries_total{shard="alpha",role="primary",operation="character_get",outcome="ok"} 1');
    const head = await get(server.url, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get(server.url.replace('/metrics', '/other'))).status).toBe(404);
    expect((await get(server.url, 'POST')).status).toBe(405);
    await server.close();
    await server.close(); // idempotent
    await expect(get(server.url)).rejects.toThrow();
  });

  it('is a plain request listener that mounts in any node:http server', async () => {
    const { createServer } = await import('node:http');
    const registry = new Registry();
    fill(registry);
    const handler = metricsHandler(registry, { path: '/internal/metrics' });
    const http = createServer(handler);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as { port: number };
    try {
      const res = await get(`http://127.0.0.1:${port}/internal/metrics?x=1`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('# TYPE mxo_online_characters gauge');
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('answers a plain 500 when a collector fails; the reason goes to onError, not to the scraper (issue 23)', async () => {
    const registry = new Registry();
    const m = createMetrics(registry);
    const failing = async () => {
      throw new Error("boom: Access denied for user 'mxo_monitor'@'10.0.0.5'");
    };
    m.asyncCollectors.add(failing);
    const seen: unknown[] = [];
    server = await startMetricsServer({ registry, onError: (e) => seen.push(e) });
    const res = await get(server.url);
    expect(res.status).toBe(500);
    expect(res.body).toBe('collecting metrics failed\n');
    expect(res.body).not.toContain('boom');
    expect(res.body).not.toContain('mxo_monitor');
    expect(String(seen[0])).toContain('boom');
  });
});

describe('online characters gauge', () => {
  it('counts at scrape time, zero-fills configured districts, caches, and drops a failing shard', async () => {
    const registry = new Registry();
    const m = createMetrics(registry);
    let calls = 0;
    let fail = false;
    const collector = new OnlineCharactersCollector(
      m.onlineCharacters,
      () => [
        {
          shard: 'alpha',
          districts: [1, 2, 3],
          count: async () => {
            calls++;
            if (fail) throw new Error('down');
            // District 9 is not configured for alpha: not exported (labels stay bounded by the config).
            return [{ districtId: 2, online: 4 }, { districtId: 9, online: 1 }];
          },
        },
        { shard: 'beta', districts: [4], count: () => new Promise(() => {}) /* hangs */ },
      ],
      { cacheMs: 60_000, timeoutMs: 100 },
    );
    m.asyncCollectors.add(collector.collect);
    const values = async () =>
      ((await registry.getSingleMetric('mxo_online_characters')!.get()).values as Array<{ labels: Record<string, string>; value: number }>)
        .map((v) => `${v.labels.shard}/${v.labels.district}=${v.value}`)
        .sort();

    expect(await values()).toEqual(['alpha/1=0', 'alpha/2=4', 'alpha/3=0']);
    expect(calls).toBe(1);
    await registry.metrics();
    expect(calls).toBe(1); // cached
    collector.invalidate();
    fail = true;
    expect(await values()).toEqual([]);
    expect(calls).toBe(2);
    fail = false;
    expect(await values()).toEqual(['alpha/1=0', 'alpha/2=4', 'alpha/3=0']);
    collector.close();
    m.asyncCollectors.delete(collector.collect);
    expect(await values()).toEqual([]);
  });
});
