/**
 * TLS in docker-compose.yml (issue 23, H2), checked without a Docker engine: every MariaDB service
 * loads deploy/mariadb/90-mxo-tls.cnf with certificates from the tls-certs service, every client
 * config verifies them with the CA. Then the real thing locally: deploy/tls/make-certs.sh makes the
 * certificates, a mariadbd starts with the .cnf's settings, and the library's connection options
 * (from a config with `tls`) get an encrypted, verified session; a wrong CA is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveClusterConfig } from '../src/index.js';
import { connectionOptions } from '../src/pool/connection-options.js';
import { planSandbox } from '../src/sandbox/topology.js';
import { ROOT, composeConfig, run } from './support/compose.js';
import { freePort } from './support/free-port.js';

const plan = planSandbox({ shards: 2, replicasPerShard: 1 });

/** `host-path:container-path[:ro]` -> container path. */
function mountOf(volumes: string[] | undefined, host: string): string | undefined {
  for (const v of volumes ?? []) {
    const [h, c] = v.split(':');
    if (h === host || (h && path.resolve(ROOT, h) === path.join(ROOT, host))) return c;
  }
  return undefined;
}

/** The .cnf's `key = value` lines as mariadbd flags, container paths mapped to `dir`. */
function cnfFlags(dir: string): string[] {
  return readFileSync(path.join(ROOT, 'deploy/mariadb/90-mxo-tls.cnf'), 'utf8')
    .split('\n')
    .map((l) => /^\s*([a-z_]+)\s*=\s*(\S+)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => `--${m[1]!.replace(/_/g, '-')}=${m[2]!.replace('/etc/mysql/tls', dir)}`);
}

describe('docker-compose.yml TLS', () => {
  it('every MariaDB node loads the TLS settings and certificates; every client config verifies them', () => {
    const services = composeConfig().services;
    const certs = services['tls-certs']!;
    expect(mountOf(certs.volumes, './deploy/tls/make-certs.sh')).toBe('/make-certs.sh');
    expect(certs.volumes).toContain('tls:/tls:rw');
    for (const node of plan.nodes) {
      const s = services[node.name]!;
      expect(s.volumes, node.name).toContain('tls:/etc/mysql/tls:ro');
      expect(mountOf(s.volumes, './deploy/mariadb/90-mxo-tls.cnf'), node.name).toBe('/etc/mysql/conf.d/90-mxo-tls.cnf');
      expect(s.depends_on?.['tls-certs']?.condition, node.name).toBe('service_completed_successfully');
    }
    for (const [name, file] of [
      ['migrate', 'deploy/cluster.json'],
      ['users', 'deploy/cluster.json'],
      ['workload', 'deploy/cluster-app.json'],
    ] as const) {
      expect(services[name]!.volumes, name).toContain('tls:/etc/mxo/tls:ro');
      expect(JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')).tls, file).toEqual({ caFile: '/etc/mxo/tls/ca.pem' });
    }
    const names = readFileSync(path.join(ROOT, 'deploy/tls/make-certs.sh'), 'utf8');
    for (const node of plan.nodes) expect(names).toContain(node.name);
  });
});

describe('TLS to a real server with the compose certificates', () => {
  let child: ChildProcess | undefined;
  let dir = '';
  afterAll(async () => {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('connects encrypted and verified; a wrong CA is refused', { timeout: 120_000 }, async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-compose-tls-'));
    const tls = path.join(dir, 'tls');
    const other = path.join(dir, 'other');
    run('sh', [path.join(ROOT, 'deploy/tls/make-certs.sh')], { env: { TLS_DIR: tls } });
    run('sh', [path.join(ROOT, 'deploy/tls/make-certs.sh')], { env: { TLS_DIR: other } });
    const data = path.join(dir, 'data');
    const tmp = path.join(dir, 'tmp');
    await fs.mkdir(tmp);
    run(findBinary('mariadb-install-db'), [
      '--no-defaults',
      '--auth-root-authentication-method=normal',
      `--datadir=${data}`,
      `--tmpdir=${tmp}`,
      '--skip-test-db',
    ]);
    const port = await freePort();
    const args = [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      `--socket=${path.join(dir, 'sock')}`,
      `--tmpdir=${tmp}`,
      '--bind-address=127.0.0.1',
      '--skip-log-bin',
      `--log-error=${path.join(dir, 'err')}`,
      ...cnfFlags(tls),
    ];
    if (process.getuid?.() === 0) args.splice(1, 0, '--user=root');
    child = spawn(findBinary('mariadbd'), args, { stdio: 'ignore' });
    const config = (caFile: string) =>
      resolveClusterConfig(
        {
          global: { primary: { host: '127.0.0.1', port, user: 'root', database: 'mysql' } },
          shards: [{ name: 'alpha', primary: { host: '127.0.0.1', port, user: 'root', database: 'mysql' }, districts: [1] }],
          tls: { caFile },
        },
        {},
      ).global.primary;
    const deadline = Date.now() + 60_000;
    let conn: mysql.Connection | undefined;
    while (!conn) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited: ${await fs.readFile(path.join(dir, 'err'), 'utf8').catch(() => '')}`);
      conn = await mysql.createConnection(connectionOptions(config(path.join(tls, 'ca.pem')))).catch((e) => {
        if (Date.now() > deadline) throw e;
        return undefined;
      });
      if (!conn) await new Promise((r) => setTimeout(r, 200));
    }
    try {
      const [rows] = (await conn.query("SHOW SESSION STATUS LIKE 'Ssl_version'")) as unknown as [Array<{ Value: string }>];
      expect(rows[0]!.Value).toMatch(/^TLSv1\.[23]$/);
    } finally {
      await conn.end();
    }
    // Another CA: the server's certificate does not verify, and nothing is sent in the clear instead.
    await expect(mysql.createConnection(connectionOptions(config(path.join(other, 'ca.pem'))))).rejects.toThrow(/certificate/i);
  });
});

function findBinary(name: string): string {
  for (const d of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin']) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  throw new Error(`${name} is required for this test and was not found; install it with: apt-get install -y mariadb-server`);
}

