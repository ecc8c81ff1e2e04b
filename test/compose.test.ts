/**
 * docker-compose.yml, checked without a Docker engine: `docker-compose config` validates it, and
 * its services are the sandbox's topology (same node names, server ids and flags, replication set
 * up by deploy/mariadb/10-mxo-replication.sh), the demo workload, Prometheus and Grafana wired to
 * each other. The replication script itself runs against two real local mariadbd servers started
 * with the compose services' flags, and replication must then carry a write. The workload image's
 * build: test/workload-dockerfile.test.ts; the workload under Prometheus: compose-workload.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { freePort } from './support/free-port.js';
import * as os from 'node:os';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveClusterConfig } from '../src/index.js';
import { commonServerFlags, planSandbox, type PlannedNode } from '../src/sandbox/topology.js';
import { COMPOSE_ENV, ROOT, composeConfig, run, type Service } from './support/compose.js';

const plan = planSandbox({ shards: 2, replicasPerShard: 1 });

/** The server flags the sandbox's container provider gives a node (src/sandbox/testcontainers.ts). */
function sandboxCommand(node: PlannedNode): string[] {
  return ['--log-bin=mariadb-bin', ...commonServerFlags(node)];
}

/** `host-path:container-path[:ro]` -> container path, for a host path relative to the repo. */
function mountOf(service: Service, hostPath: string): string | undefined {
  const wanted = path.join(ROOT, hostPath);
  for (const volume of service.volumes ?? []) {
    const [host, container] = volume.split(':');
    if (host && path.resolve(ROOT, host) === wanted) return container;
  }
  return undefined;
}

describe('docker-compose.yml', () => {
  const config = composeConfig();
  const services = config.services;

  it('defines the whole topology: global, two shards of primary + replica, setup, workload, Prometheus, Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'alpha-primary',
        'alpha-replica-1',
        'beta-primary',
        'beta-replica-1',
        'global-primary',
        'grafana',
        'prometheus',
        'migrate',
        'users',
        'workload',
        'tls-certs',
      ].sort(),
    );
    expect(plan.nodes.map((n) => n.name).sort()).toEqual([
      'alpha-primary',
      'alpha-replica-1',
      'beta-primary',
      'beta-replica-1',
      'global-primary',
    ]);
  });

  it('runs each MariaDB node with the sandbox flags and the replication set-up script', () => {
    for (const node of plan.nodes) {
      const service = services[node.name]!;
      expect(service.image, node.name).toMatch(/^mariadb:10\.11/);
      expect(service.command, node.name).toEqual(sandboxCommand(node));
      expect(service.environment?.MXO_NODE_ROLE, node.name).toBe(node.role);
      expect(service.environment?.MARIADB_ROOT_PASSWORD, node.name).toBe('compose-test-pw');
      expect(service.environment?.MXO_REPL_PASSWORD, node.name).toBeTruthy();
      expect(mountOf(service, 'deploy/mariadb/10-mxo-replication.sh'), node.name).toBe('/docker-entrypoint-initdb.d/10-mxo-replication.sh');
      expect(service.healthcheck?.test, node.name).toContain('healthcheck.sh');
      if (node.role === 'replica') {
        expect(service.environment?.MXO_PRIMARY_HOST, node.name).toBe(node.primary);
        expect(service.environment?.MXO_REPL_PASSWORD).toBe(services[node.primary!]!.environment?.MXO_REPL_PASSWORD);
        expect(service.depends_on?.[node.primary!]?.condition).toBe('service_healthy');
      }
      // Each node keeps its data in its own named volume (declared at the top level).
      const data = (service.volumes ?? []).find((v) => v.split(':')[1] === '/var/lib/mysql');
      expect(data, node.name).toBe(`${node.name}-data:/var/lib/mysql:rw`);
      expect(Object.keys(config.volumes ?? {}), node.name).toContain(`${node.name}-data`);
    }
  });

  it('health checks run healthcheck.sh tests that can pass: replicas test both replication threads', () => {
    for (const node of plan.nodes) {
      const [kind, script, ...args] = services[node.name]!.healthcheck!.test;
      expect([kind, script], node.name).toEqual(['CMD', 'healthcheck.sh']);
      const run = healthcheckRun(args);
      expect(run.error, node.name).toBeUndefined();
      expect(run.tests.map((t) => t.test).slice(0, 2), node.name).toEqual(['connect', 'innodb_initialized']);
      if (node.role === 'replica') {
        // The image creates the healthcheck user with these grants; --replication needs REPLICA MONITOR.
        expect(services[node.name]!.environment?.MARIADB_HEALTHCHECK_GRANTS).toBe('REPLICA MONITOR');
        expect(run.tests.find((t) => t.test === 'replication')?.repl, node.name).toEqual({ io: '1', sql: '1' });
      }
    }
    // The rule encoded, on the list this file used to have: parameters and no test, then a
    // trailing value-less --replication_sql that makes the script exit 1.
    const before = healthcheckRun(['--connect', '--innodb_initialized', '--replication_io', '--replication_sql']);
    expect(before.error).toMatch(/exit 1/);
    expect(before.tests.map((t) => t.test)).not.toContain('replication');
    expect(healthcheckRun(['--connect', '--replication_io', '--replication']).tests.at(-1)).toEqual({
      test: 'replication',
      repl: { io: '1' },
    });
    expect(healthcheckRun(['--replication', '--replication_io']).error).toMatch(/exit 1/);
  });

  it('publishes every port on 127.0.0.1 only, and the header lists exactly those ports', () => {
    const published: number[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        // docker-compose config prints short syntax as HOST_IP:HOST_PORT:CONTAINER_PORT/PROTO.
        const m = /^(\d+\.\d+\.\d+\.\d+):(\d+):(\d+)(\/tcp)?$/.exec(String(port));
        expect(m?.[1], `${name} ${String(port)}`).toBe('127.0.0.1');
        published.push(Number(m![2]));
      }
    }
    expect(published.sort()).toEqual([3000, 3316, 3317, 3318, 3319, 3320, 9090, 9464]);
    const header = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .join('\n');
    const mentioned = [...header.matchAll(/\b(\d{4})\b/g)].map((m) => Number(m[1]));
    expect([...new Set(mentioned)].sort()).toEqual(published);
    expect(header).not.toMatch(/0\.0\.0\.0|localhost/);
    // Grafana's admin password is the environment's, not admin/admin.
    expect(header).not.toContain('admin/admin');
    expect(header).toContain('GRAFANA_ADMIN_PASSWORD');
    expect(services.grafana!.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('compose-grafana-pw');
    // Init runs on an empty volume only: the header and README say how to start again.
    expect(header).toContain('docker compose down -v');
    expect(readFileSync(path.join(ROOT, 'docs/operating.md'), 'utf8')).toContain('docker compose down -v');
  });

  it('migrates and creates the accounts as root, then runs the demo workload as mxo_app', () => {
    const { migrate, users, workload } = services as Record<string, (typeof services)[string]>;
    // Setup, once, in order, as root: migrate after every node is healthy, then the accounts.
    expect(migrate!.build?.dockerfile).toBe('deploy/workload.Dockerfile');
    expect(existsSync(path.join(ROOT, 'deploy/workload.Dockerfile'))).toBe(true);
    expect(migrate!.command).toEqual(['migrate', '--config', '/config/cluster.json']);
    expect(mountOf(migrate!, 'deploy/cluster.json')).toBe('/config/cluster.json');
    expect(migrate!.environment).toEqual({ MXO_DB_PASSWORD: 'compose-test-pw' });
    for (const node of plan.nodes) expect(migrate!.depends_on?.[node.name]?.condition).toBe('service_healthy');
    expect(users!.command).toEqual(['users', '--config', '/config/cluster.json']);
    expect(mountOf(users!, 'deploy/cluster.json')).toBe('/config/cluster.json');
    expect(users!.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    for (const name of [
      'MXO_DB_PASSWORD',
      'MXO_APP_PASSWORD',
      'MXO_MIGRATE_PASSWORD',
      'MXO_BACKUP_PASSWORD',
      'MXO_REPL_PASSWORD',
      'MXO_MONITOR_PASSWORD',
    ])
      expect(users!.environment?.[name], name).toBe(COMPOSE_ENV[name as keyof typeof COMPOSE_ENV]);
    // The workload: the application account only; root's password is not in its environment.
    expect(workload!.command).toEqual(['demo', '--loop', '--skip-migrate', '--config', '/config/cluster.json', '--metrics-port', '9464']);
    expect(mountOf(workload!, 'deploy/cluster-app.json')).toBe('/config/cluster.json');
    expect(workload!.environment).toEqual({ MXO_APP_PASSWORD: 'compose-app-password' });
    expect(workload!.depends_on?.users?.condition).toBe('service_completed_successfully');
    // TLS (the CA file exists only in the containers) is checked in test/compose-tls.test.ts.
    const withoutTls = (file: string) => {
      const { tls, ...rest } = JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));
      expect(tls, file).toEqual({ caFile: '/etc/mxo/tls/ca.pem' });
      return rest;
    };
    const app = resolveClusterConfig(withoutTls('deploy/cluster-app.json'), {
      MXO_APP_PASSWORD: 'compose-app-password',
    });
    for (const node of [app.global.primary, ...app.shards.flatMap((s) => [s.primary, ...s.replicas])]) {
      expect(node).toMatchObject({ user: 'mxo_app', password: 'compose-app-password' });
    }
    expect(app.shards.map((s) => [s.primary.host, ...s.replicas.map((r) => r.host)])).toEqual([
      ['alpha-primary', 'alpha-replica-1'],
      ['beta-primary', 'beta-replica-1'],
    ]);

    // The config is valid and is the sandbox's topology with compose hostnames.
    const raw = withoutTls('deploy/cluster.json');
    const resolved = resolveClusterConfig(raw, { MXO_DB_PASSWORD: 'compose-test-pw' });
    expect(resolved.global.primary).toMatchObject({
      host: 'global-primary',
      port: 3306,
      user: 'root',
      database: 'mxo_global',
      password: 'compose-test-pw',
    });
    expect(resolved.shards.map((s) => ({ name: s.name, districts: s.districts }))).toEqual(plan.shards);
    for (const shard of resolved.shards) {
      expect(shard.primary.host).toBe(`${shard.name}-primary`);
      expect(shard.replicas.map((r) => r.host)).toEqual([`${shard.name}-replica-1`]);
    }

    // The CLI takes the flags the workload relies on.
    // (src/cli.ts, or its commands under src/cli/.)
    const cliDir = path.join(ROOT, 'src/cli');
    const cliFiles = ['src/cli.ts', ...(existsSync(cliDir) ? readdirSync(cliDir).map((f) => `src/cli/${f}`) : [])];
    const cli = cliFiles.map((f) => readFileSync(path.join(ROOT, f), 'utf8')).join('\n');
    for (const flag of ['loop', 'config', 'metrics-port', 'skip-migrate']) expect(cli).toMatch(new RegExp(`['"]?${flag}['"]?: \\{ type:`));
  });

  it('points Prometheus at the workload and Grafana at Prometheus, with the dashboard provisioned', () => {
    const prometheus = services.prometheus!;
    expect(prometheus.image).toMatch(/^prom\/prometheus:/);
    expect(mountOf(prometheus, 'deploy/prometheus.yml')).toBe('/etc/prometheus/prometheus.yml');
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    run('promtool', ['check', 'config', 'deploy/prometheus.yml']);
    const scrape = readFileSync(path.join(ROOT, 'deploy/prometheus.yml'), 'utf8');
    expect(scrape).toContain("targets: ['workload:9464']");
    expect(JSON.stringify(services.workload!.ports)).toMatch(/9464/);

    const grafana = services.grafana!;
    expect(grafana.image).toMatch(/^grafana\/grafana/);
    expect(mountOf(grafana, 'grafana/provisioning/datasources')).toBe('/etc/grafana/provisioning/datasources');
    expect(mountOf(grafana, 'grafana/provisioning/dashboards')).toBe('/etc/grafana/provisioning/dashboards');
    const dashboardsDir = mountOf(grafana, 'grafana/dashboards');
    const provider = readFileSync(path.join(ROOT, 'grafana/provisioning/dashboards/mxo-data.yml'), 'utf8');
    expect(provider).toContain(`path: ${dashboardsDir}`);
    const datasource = readFileSync(path.join(ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8');
    expect(datasource).toContain('url: http://prometheus:9090');
    const uid = /uid: (\S+)/.exec(datasource)?.[1];
    const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'grafana/dashboards/mxo-data.json'), 'utf8'));
    const variable = dashboard.templating.list.find((v: { name: string }) => v.name === 'datasource');
    expect(variable.current.value).toBe(uid);
    expect(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${dashboardsDir}/mxo-data.json`);
  });
});

describe('deploy/mariadb/10-mxo-replication.sh', () => {
  const children: ChildProcess[] = [];
  let dir = '';

  afterAll(async () => {
    for (const child of children) {
      if (child.pid && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('sets up GTID replication from a primary to a replica started with the compose flags', { timeout: 120_000 }, async () => {
    const mariadbd = findBinary('mariadbd');
    const installDb = findBinary('mariadb-install-db');
    findBinary('mariadb');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-compose-repl-'));
    const primary = plan.nodes.find((n) => n.name === 'alpha-primary')!;
    const replica = plan.nodes.find((n) => n.name === 'alpha-replica-1')!;
    // One fresh data directory (what the image's entrypoint creates), copied for the second server.
    // A private tmpdir: bootstraps running at the same time elsewhere must not share /tmp files.
    const template = path.join(dir, 'template');
    const tmpdir = path.join(dir, 'tmp');
    await fs.mkdir(template);
    await fs.mkdir(tmpdir);
    run(installDb, [
      '--no-defaults',
      '--auth-root-authentication-method=normal',
      `--datadir=${template}`,
      `--tmpdir=${tmpdir}`,
      '--skip-test-db',
      '--innodb-log-file-size=8M',
      '--innodb-buffer-pool-size=32M',
    ]);
    const nodes: Array<{ node: PlannedNode; dataDir: string; port: number; socket: string }> = [];
    for (const node of [primary, replica]) {
      const dataDir = path.join(dir, node.name);
      await fs.cp(template, dataDir, { recursive: true });
      nodes.push({ node, dataDir, port: await freePort(), socket: path.join(dir, `${node.name}.sock`) });
    }
    const start = async (n: (typeof nodes)[number]) => {
      const args = [
        '--no-defaults',
        `--datadir=${n.dataDir}`,
        `--port=${n.port}`,
        `--socket=${n.socket}`,
        `--tmpdir=${tmpdir}`,
        '--bind-address=127.0.0.1',
        `--log-error=${path.join(dir, `${n.node.name}.err`)}`,
        `--pid-file=${path.join(dir, `${n.node.name}.pid`)}`,
        ...sandboxCommand(n.node),
      ];
      if (process.getuid?.() === 0) args.splice(1, 0, '--user=root');
      const child = spawn(mariadbd, args, { stdio: 'ignore', cwd: n.dataDir });
      children.push(child);
      await until(`${n.node.name} to accept connections`, async () => {
        if (child.exitCode !== null)
          throw new Error(`mariadbd exited: ${await fs.readFile(path.join(dir, `${n.node.name}.err`), 'utf8').catch(() => '')}`);
        const c = await mysql.createConnection({ host: '127.0.0.1', port: n.port, user: 'root' });
        await c.end();
        return true;
      });
      return child;
    };
    const [p, r] = nodes as [(typeof nodes)[number], (typeof nodes)[number]];
    await Promise.all([start(p), start(r)]);

    // What the image's entrypoint does: run the script on each fresh server (root, local socket).
    const password = `re'pl\\pw "${Date.now()}`;
    const script = path.join(ROOT, 'deploy/mariadb/10-mxo-replication.sh');
    const env = (n: typeof p, extra: Record<string, string>) => ({
      ...process.env,
      SOCKET: n.socket,
      MARIADB_ROOT_PASSWORD: '',
      MXO_REPL_PASSWORD: password,
      ...extra,
    });
    const sh = (n: typeof p, extra: Record<string, string>) => {
      const result = spawnSync('bash', ['-euo', 'pipefail', script], { env: env(n, extra), encoding: 'utf8' });
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
      return result.stdout;
    };
    expect(sh(p, { MXO_NODE_ROLE: 'primary' })).toContain('primary ready');
    expect(sh(r, { MXO_NODE_ROLE: 'replica', MXO_PRIMARY_HOST: '127.0.0.1', MXO_PRIMARY_PORT: String(p.port) })).toContain('configured');
    const bad = spawnSync('bash', [script], { env: env(r, { MXO_NODE_ROLE: 'witness' }), encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('MXO_NODE_ROLE must be primary or replica');

    // The image then restarts the server for real: the replica starts replicating by itself.
    const replicaChild = children[1]!;
    const exited = new Promise((resolve) => replicaChild.once('exit', resolve));
    process.kill(replicaChild.pid!, 'SIGTERM');
    await exited;
    await start(r);

    const onPrimary = await mysql.createConnection({ host: '127.0.0.1', port: p.port, user: 'root' });
    const onReplica = await mysql.createConnection({ host: '127.0.0.1', port: r.port, user: 'root' });
    try {
      // The repl account is local to the primary (never replicated).
      const [users] = await onReplica.query("SELECT COUNT(*) AS n FROM mysql.user WHERE user = 'repl'");
      expect(Number((users as Array<{ n: number }>)[0]!.n)).toBe(0);
      await onPrimary.query('CREATE DATABASE probe');
      await onPrimary.query('CREATE TABLE probe.t (id INT PRIMARY KEY)');
      await onPrimary.query('INSERT INTO probe.t VALUES (42)');
      const [pos] = await onPrimary.query('SELECT @@gtid_binlog_pos AS pos');
      const position = (pos as Array<{ pos: string }>)[0]!.pos;
      const [waited] = await onReplica.query('SELECT MASTER_GTID_WAIT(?, 20) AS w', [position]);
      expect(Number((waited as Array<{ w: number }>)[0]!.w)).toBe(0);
      const [rows] = await onReplica.query('SELECT id FROM probe.t');
      expect(rows).toEqual([{ id: 42 }]);
      const [status] = await onReplica.query('SHOW SLAVE STATUS');
      const s = (status as Array<Record<string, unknown>>)[0]!;
      expect([s.Slave_IO_Running, s.Slave_SQL_Running, s.Using_Gtid]).toEqual(['Yes', 'Yes', 'Slave_Pos']);
      const [readOnly] = await onReplica.query('SELECT @@read_only AS ro');
      expect(Number((readOnly as Array<{ ro: number }>)[0]!.ro)).toBe(1);
    } finally {
      await onPrimary.end();
      await onReplica.end();
    }
  });
});

/**
 * The argument loop of the mariadb image's healthcheck.sh (10.11/healthcheck.sh in
 * MariaDB/mariadb-docker), with the tests as names. Its contract, from the script: "Arguments are
 * processed in strict order. Set replication_* options before the --replication option."
 * `--replication_X=V` sets parameter X; `--replication_X` without `=` takes the next argument as
 * its value unless that starts with `--` (then X=1), so as the LAST argument it takes the missing
 * $2 and the script's second `shift` fails under `set -e`: exit 1. Any other `--name` runs test
 * `name` at once with the parameters set so far; an unknown test exits 1.
 */
function healthcheckRun(args: string[]): { tests: Array<{ test: string; repl: Record<string, string> }>; error?: string } {
  const known = [
    'connect',
    'innodb_initialized',
    'innodb_buffer_pool_loaded',
    'galera_online',
    'galera_ready',
    'replication',
    'mariadbupgrade',
  ];
  const repl: Record<string, string> = {};
  const tests: Array<{ test: string; repl: Record<string, string> }> = [];
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest[0]!;
    if (/^--replication_[^=]*=/.test(arg)) {
      repl[arg.slice('--replication_'.length, arg.indexOf('=')).toLowerCase()] = arg.slice(arg.indexOf('=') + 1);
    } else if (arg.startsWith('--replication_')) {
      const name = arg.slice('--replication_'.length).toLowerCase();
      const next = rest[1];
      if (next === undefined) return { tests, error: `exit 1: ${arg} is last, shift past the end under set -e` };
      if (next.startsWith('--')) repl[name] = '1';
      else {
        repl[name] = next;
        rest.shift(); // the script's inner shift: the value is consumed
      }
    } else if (arg.startsWith('--')) {
      const test = arg.slice(2);
      if (!known.includes(test)) return { tests, error: `exit 1: healthcheck unknown option or test '${test}'` };
      tests.push({ test, repl: { ...repl } });
    } else {
      return { tests, error: `exit 1: Unknown healthcheck option ${arg}` };
    }
    rest.shift();
  }
  return { tests };
}

function findBinary(name: string): string {
  for (const d of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin']) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  throw new Error(`${name} is required for this test and was not found; install it with: apt-get install -y mariadb-server`);
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (error) {
      last = error;
      if (String(error).includes('mariadbd exited')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
