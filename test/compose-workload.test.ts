/**
 * docker-compose.yml's setup, workload and Prometheus, run without Docker: the `migrate` and
 * `users` services' commands run in order, then the workload service's command, each against a
 * sandbox cluster of compose's topology with that service's own environment and config file
 * (deploy/cluster.json as root for setup, deploy/cluster-app.json as mxo_app for the workload,
 * service names pointed at the sandbox nodes), and a real Prometheus scrapes the workload with
 * deploy/prometheus.yml, whose job is rewritten only in its target address.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.js';
import { ROOT, composeConfig } from './support/compose.js';
import { freePort } from './support/free-port.js';

const PASSWORD = `compose'root\\pw "${process.pid}`;

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  check: () => string | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const failed = check();
    if (failed) throw new Error(`while waiting for ${what}: ${failed}`);
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<number | null> {
  if (!child?.pid) return null;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(child.pid, signal);
  return exited;
}

describe('docker-compose.yml workload, scraped by deploy/prometheus.yml', () => {
  let sandbox: Sandbox | undefined;
  let workload: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let dir = '';

  afterAll(async () => {
    await stopChild(workload, 'SIGKILL');
    await stopChild(prometheus, 'SIGKILL');
    await sandbox?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('migrates, runs the demo and serves /metrics that Prometheus scrapes; Ctrl-C stops it cleanly', { timeout: 240_000 }, async () => {
    type Runnable = { command: string[]; environment: Record<string, string> };
    const services = composeConfig({ MXO_DB_PASSWORD: PASSWORD }).services as unknown as Record<string, Runnable>;
    const service = services.workload!;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-compose-workload-'));
    sandbox = await startSandbox({ shards: 2, replicasPerShard: 1, dir: path.join(dir, 'sandbox') });

    // What the image's entrypoint does with MARIADB_ROOT_PASSWORD: root needs the password
    // (sql_log_bin=0: each node's own account, replicas included).
    for (const node of sandbox.nodes) {
      const c = await mysql.createConnection({ host: node.host, port: node.port, user: 'root' });
      await c.query('SET SESSION sql_log_bin = 0');
      for (const host of ['localhost', '127.0.0.1', '::1'])
        await c.query('ALTER USER IF EXISTS ?@? IDENTIFIED BY ?', ['root', host, PASSWORD]);
      await c.end();
      await expect(mysql.createConnection({ host: node.host, port: node.port, user: 'root' })).rejects.toThrow(/Access denied/);
    }

    // deploy/cluster.json (root) and deploy/cluster-app.json (mxo_app) with each compose service
    // name pointing at the sandbox node.
    const byName = new Map(sandbox.nodes.map((n) => [n.name, n]));
    const pointAtSandbox = (node: unknown): unknown => {
      if (typeof node === 'string') {
        const name = /@([a-z0-9-]+):3306\//.exec(node)![1]!;
        return node.replace(`@${name}:3306/`, `@${byName.get(name)!.host}:${byName.get(name)!.port}/`);
      }
      const object = node as { host: string; port: number };
      return { ...object, host: byName.get(object.host)!.host, port: byName.get(object.host)!.port };
    };
    for (const file of ['cluster.json', 'cluster-app.json']) {
      const config = JSON.parse(readFileSync(path.join(ROOT, 'deploy', file), 'utf8'));
      config.global.primary = pointAtSandbox(config.global.primary);
      config.global.replicas = config.global.replicas.map(pointAtSandbox);
      for (const shard of config.shards) {
        shard.primary = pointAtSandbox(shard.primary);
        shard.replicas = shard.replicas.map(pointAtSandbox);
      }
      // The sandbox's servers have no certificates: TLS itself is tested in test/compose-tls.test.ts.
      expect(config.tls, file).toEqual({ caFile: '/etc/mxo/tls/ca.pem' });
      delete config.tls;
      expect(JSON.stringify(config), file).not.toMatch(/3306/);
      await fs.writeFile(path.join(dir, file), JSON.stringify(config));
    }
    // Only each service's compose environment supplies passwords (not whatever this shell has).
    const { MXO_DB_PASSWORD: _ignored, MXO_APP_PASSWORD: _app, ...inherited } = process.env;

    // The one-shot setup services, in their depends_on order, as root from deploy/cluster.json.
    for (const name of ['migrate', 'users']) {
      const setup = services[name]!;
      const setupArgs = setup.command.map((a) => (a === '/config/cluster.json' ? path.join(dir, 'cluster.json') : a));
      const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...setupArgs], {
        cwd: ROOT,
        env: { ...inherited, ...setup.environment },
        encoding: 'utf8',
      });
      expect(result.status, `${name}: ${result.stdout}\n${result.stderr}`).toBe(0);
    }

    // The service's command, with its container paths and port mapped to this machine.
    const metricsPort = await freePort();
    const args = service.command.map((a) =>
      a === '/config/cluster.json' ? path.join(dir, 'cluster-app.json') : a === '9464' ? String(metricsPort) : a,
    );
    expect(args).toEqual([
      'demo',
      '--loop',
      '--skip-migrate',
      '--config',
      path.join(dir, 'cluster-app.json'),
      '--metrics-port',
      String(metricsPort),
    ]);
    let workloadLog = '';
    workload = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], {
      cwd: ROOT, // the image's WORKDIR is the package root
      env: { ...inherited, ...service.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workload.stdout!.on('data', (d: Buffer) => (workloadLog += d.toString()));
    workload.stderr!.on('data', (d: Buffer) => (workloadLog += d.toString()));
    const workloadExited = () => (workload!.exitCode !== null ? `workload exited ${workload!.exitCode}:\n${workloadLog}` : undefined);
    await until('the workload to loop', async () => workloadLog.includes('generating traffic until Ctrl-C'), workloadExited, 120_000);

    // Prometheus with the shipped config; only the target changes (the compose service name).
    const shipped = readFileSync(path.join(ROOT, 'deploy/prometheus.yml'), 'utf8');
    expect(shipped).toContain("targets: ['workload:9464']");
    await fs.writeFile(path.join(dir, 'prometheus.yml'), shipped.replace("'workload:9464'", `'127.0.0.1:${metricsPort}'`));
    const promPort = await freePort();
    let promLog = '';
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'prom-data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.on('error', (e) => (promLog += `${e.message} (apt-get install -y prometheus)`));
    prometheus.stdout!.on('data', (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    const promExited = () =>
      workloadExited() ?? (prometheus!.exitCode !== null || promLog.includes('apt-get') ? `prometheus failed:\n${promLog}` : undefined);
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      return body.data.result;
    };
    // The scrape succeeded (up == 1) with the job's own labels, and traffic reached every shard.
    const up = await until(
      'Prometheus to scrape the workload',
      async () => {
        const r = await query('up{job="mxo-data"}');
        return r.length > 0 && r[0]!.value[1] === '1' ? r : undefined;
      },
      promExited,
    );
    expect(up[0]!.metric).toMatchObject({ job: 'mxo-data', cluster: 'compose', instance: `127.0.0.1:${metricsPort}` });
    const shards = await until(
      'query metrics of both shards',
      async () => {
        const r = await query('sum by (shard) (mxo_queries_total{job="mxo-data"})');
        return r.length >= 2 ? r.map((s) => s.metric.shard).sort() : undefined;
      },
      promExited,
    );
    expect(shards).toEqual(expect.arrayContaining(['alpha', 'beta']));

    // docker compose stop sends SIGTERM: the workload closes the cluster and exits 0.
    expect(await stopChild(workload, 'SIGTERM')).toBe(0);
  });
});
