/**
 * The sandbox against real mariadbd processes (no mocks): topology, GTID replication, kill and
 * restart of replicas and primaries, clean stop, stopSandboxDir, and the exit handler of a crashed
 * process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, stopSandboxDir, type Sandbox, type SandboxNode } from '../src/sandbox/index.js';

const local = (process.env.MXO_SANDBOX ?? 'local') !== 'testcontainers';
const SANDBOX_INDEX = fileURLToPath(new URL('../src/sandbox/index.ts', import.meta.url));

async function withNode<T>(n: SandboxNode, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ host: n.host, port: n.port, user: 'root', password: '' });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function rows(n: SandboxNode, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  return withNode(n, async (c) => (await c.query<RowDataPacket[]>(sql, params))[0]);
}

async function one(n: SandboxNode, sql: string, params: unknown[] = []): Promise<unknown> {
  const r = await rows(n, sql, params);
  return r[0] ? Object.values(r[0])[0] : undefined;
}

/** Wait on `replica` until it has applied everything `primary` has binlogged. */
async function syncReplica(primary: SandboxNode, replica: SandboxNode): Promise<void> {
  const pos = String(await one(primary, 'SELECT @@GLOBAL.gtid_binlog_pos'));
  expect(pos).not.toBe('');
  expect(Number(await one(replica, 'SELECT MASTER_GTID_WAIT(?, 10)', [pos]))).toBe(0);
}

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function probeTableCount(n: SandboxNode): Promise<number> {
  return Number(
    await one(
      n,
      "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'mxo_shard' AND table_name = 'sandbox_probe'",
    ),
  );
}

describe('sandbox (2 shards x primary+replica, global)', () => {
  let sb: Sandbox;

  beforeAll(async () => {
    const t0 = performance.now();
    sb = await startSandbox({ shards: 2, replicasPerShard: 1 });
    if (process.env.MXO_SANDBOX_VERBOSE) console.error(`sandbox started in ${Math.round(performance.now() - t0)} ms`);
  });

  afterAll(async () => {
    await sb?.stop();
  });

  it('has the requested topology, config and files', async () => {
    expect(sb.nodes.map((n) => n.name)).toEqual([
      'global-primary',
      'alpha-primary',
      'alpha-replica-1',
      'beta-primary',
      'beta-replica-1',
    ]);
    expect(sb.node('alpha-replica-1')).toMatchObject({ role: 'replica', shard: 'alpha' });
    expect(() => sb.node('nope')).toThrow(/no sandbox node/);
    expect(sb.config.global.primary).toMatch(/^mysql:\/\/root@127\.0\.0\.1:\d+\/mxo_global$/);
    expect(sb.config.global.replicas).toEqual([]);
    expect(sb.config.shards.map((s) => [s.name, s.districts])).toEqual([
      ['alpha', [1, 2, 3]],
      ['beta', [4, 5, 6]],
    ]);
    expect(sb.config.shards[0].primary).toBe(sb.node('alpha-primary').url);
    expect(sb.config.shards[0].replicas).toEqual([sb.node('alpha-replica-1').url]);
    expect(sb.node('beta-replica-1').url).toMatch(/\/mxo_shard$/);
    expect(new Set(sb.nodes.map((n) => n.port)).size).toBe(5);
    expect(sb.configPath).toBe(path.join(sb.dir, 'cluster.json'));
    expect(JSON.parse(readFileSync(sb.configPath, 'utf8'))).toEqual(sb.config);
    if (local) {
      const pids = JSON.parse(readFileSync(path.join(sb.dir, 'pids.json'), 'utf8')) as { nodes: Array<{ name: string; pid: number }> };
      expect(pids.nodes.map((p) => [p.name, p.pid])).toEqual(sb.nodes.map((n) => [n.name, n.pid]));
      for (const n of sb.nodes) expect(pidGone(n.pid!)).toBe(false);
    }
  });

  it('every node answers, with unique server ids, binlog, GTID strict mode and last_gtid tracking', async () => {
    const ids = new Set<number>();
    for (const n of sb.nodes) {
      const [r] = await rows(
        n,
        'SELECT 1 AS one, @@server_id AS id, @@log_bin AS lb, @@gtid_strict_mode AS strict, @@binlog_format AS fmt, ' +
          '@@session_track_system_variables AS track, @@character_set_server AS cs',
      );
      expect(r.one).toBe(1);
      expect(r.lb).toBe(1);
      expect(r.strict).toBe(1);
      expect(r.fmt).toBe('ROW');
      expect(String(r.track).split(',')).toContain('last_gtid');
      expect(String(r.track).split(',')).toContain('autocommit');
      expect(r.cs).toBe('utf8mb4');
      ids.add(Number(r.id));
    }
    expect(ids.size).toBe(sb.nodes.length);
  });

  it('replicas replicate (IO/SQL threads Yes) and are read-only; primaries are writable', async () => {
    for (const n of sb.nodes) {
      const [st] = await rows(n, 'SHOW SLAVE STATUS');
      const ro = Number(await one(n, 'SELECT @@read_only'));
      if (n.role === 'replica') {
        expect(st).toBeDefined();
        expect([st.Slave_IO_Running, st.Slave_SQL_Running]).toEqual(['Yes', 'Yes']);
        expect(st.Master_Port).toBe(sb.node(`${n.shard}-primary`).port);
        expect(st.Using_Gtid).toBe('Slave_Pos');
        expect(ro).toBe(1);
      } else {
        expect(st).toBeUndefined();
        expect(ro).toBe(0);
      }
    }
  });

  it('a write on alpha-primary reaches alpha-replica-1 and no beta or global server', async () => {
    const ap = sb.node('alpha-primary');
    const ar = sb.node('alpha-replica-1');
    const gtid = await withNode(ap, async (c) => {
      await c.query('CREATE DATABASE IF NOT EXISTS mxo_shard');
      await c.query('CREATE TABLE mxo_shard.sandbox_probe (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
      const [res] = await c.query<ResultSetHeader>("INSERT INTO mxo_shard.sandbox_probe VALUES (1, 'before kills')");
      // session_track_system_variables=last_gtid puts the write's GTID on its OK packet.
      return (res as unknown as { stateChanges?: { systemVariables?: Record<string, string> } }).stateChanges?.systemVariables
        ?.last_gtid;
    });
    expect(gtid).toMatch(/^0-\d+-\d+$/);
    await syncReplica(ap, ar);
    expect(await rows(ar, 'SELECT id, v FROM mxo_shard.sandbox_probe')).toEqual([{ id: 1, v: 'before kills' }]);
    for (const name of ['beta-primary', 'beta-replica-1', 'global-primary']) {
      expect(await probeTableCount(sb.node(name))).toBe(0);
    }
    expect(await probeTableCount(ar)).toBe(1);
  });

  it('a killed replica restarted later resumes replication by itself', async () => {
    const ap = sb.node('alpha-primary');
    const ar = sb.node('alpha-replica-1');
    const oldPid = ar.pid;
    await sb.kill('alpha-replica-1');
    if (local) expect(pidGone(oldPid!)).toBe(true);
    expect(await refuses(ar.port)).toBe(true);
    await rows(ap, "INSERT INTO mxo_shard.sandbox_probe VALUES (2, 'while replica down')");
    await sb.restart('alpha-replica-1');
    if (local) {
      expect(ar.pid).toBeTypeOf('number');
      expect(ar.pid).not.toBe(oldPid);
      expect(pidGone(ar.pid!)).toBe(false);
    }
    expect(sb.node('alpha-replica-1').port).toBe(ar.port);
    await syncReplica(ap, ar);
    expect((await rows(ar, 'SELECT id FROM mxo_shard.sandbox_probe ORDER BY id')).map((r) => r.id)).toEqual([1, 2]);
    const [st] = await rows(ar, 'SHOW SLAVE STATUS');
    expect([st.Slave_IO_Running, st.Slave_SQL_Running]).toEqual(['Yes', 'Yes']);
    expect(Number(await one(ar, 'SELECT @@read_only'))).toBe(1);
  });

  it('a primary killed with SIGKILL restarts with its data, and its replica reconnects', async () => {
    const ap = sb.node('alpha-primary');
    const ar = sb.node('alpha-replica-1');
    const oldPid = ap.pid;
    await sb.kill('alpha-primary');
    if (local) expect(pidGone(oldPid!)).toBe(true);
    expect(await refuses(ap.port)).toBe(true);
    await sb.restart('alpha-primary');
    expect((await rows(ap, 'SELECT id FROM mxo_shard.sandbox_probe ORDER BY id')).map((r) => r.id)).toEqual([1, 2]);
    await rows(ap, "INSERT INTO mxo_shard.sandbox_probe VALUES (3, 'after primary restart')");
    await syncReplica(ap, ar);
    expect((await rows(ar, 'SELECT id FROM mxo_shard.sandbox_probe ORDER BY id')).map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it('kill with SIGTERM shuts a server down cleanly and restart brings it back', async () => {
    const bp = sb.node('beta-primary');
    await sb.kill('beta-primary', 'SIGTERM');
    expect(await refuses(bp.port)).toBe(true);
    if (local) expect(readFileSync(path.join(sb.dir, 'beta-primary', 'error.log'), 'utf8')).toMatch(/Shutdown complete/);
    await sb.restart('beta-primary');
    expect(Number(await one(bp, 'SELECT 1'))).toBe(1);
  });

  it('stopSandboxDir stops a second sandbox from its pids.json', async () => {
    const sb2 = await startSandbox({ shards: 1, replicasPerShard: 0 });
    try {
      expect(sb2.nodes.map((n) => n.name)).toEqual(['global-primary', 'alpha-primary']);
      expect(sb2.dir).not.toBe(sb.dir);
      await stopSandboxDir(sb2.dir);
      for (const n of sb2.nodes) {
        if (local) expect(pidGone(n.pid!)).toBe(true);
        expect(await refuses(n.port)).toBe(true);
      }
      expect(existsSync(path.join(sb2.dir, 'pids.json'))).toBe(false);
      await stopSandboxDir(sb2.dir); // nothing left to stop: a no-op
    } finally {
      await sb2.stop();
    }
    expect(existsSync(sb2.dir)).toBe(false); // a default (mkdtemp) dir is removed by stop()
  });

  it('rejects invalid options', async () => {
    await expect(startSandbox({ shards: 0 })).rejects.toMatchObject({ code: 'SANDBOX' });
    await expect(startSandbox({ replicasPerShard: 1.5 })).rejects.toThrow(/replicasPerShard/);
  });

  it('stop() ends every process and frees every port; it is idempotent', async () => {
    const pids = sb.nodes.map((n) => n.pid);
    const ports = sb.nodes.map((n) => n.port);
    await sb.stop();
    if (local) {
      expect(pids.every((p) => typeof p === 'number')).toBe(true);
      for (const pid of pids) expect(pidGone(pid!)).toBe(true);
    }
    for (const port of ports) expect(await refuses(port)).toBe(true);
    await sb.stop();
    await expect(sb.restart('alpha-primary')).rejects.toThrow(/stopped/);
  });
});

describe.runIf(local)('exit handler of a crashed process', () => {
  for (const how of ['uncaught exception', 'SIGTERM'] as const) {
    it(`leaves no mariadbd behind after ${how}`, async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-sandbox-crash-'));
      const script = [
        `import { startSandbox } from ${JSON.stringify(SANDBOX_INDEX)};`,
        `const sb = await startSandbox({ shards: 1, replicasPerShard: 1, dir: ${JSON.stringify(dir)} });`,
        `console.log(JSON.stringify(sb.nodes.map((n) => ({ pid: n.pid, port: n.port }))));`,
        how === 'SIGTERM' ? 'setInterval(() => {}, 1000);' : 'setTimeout(() => { throw new Error("crash"); }, 50);',
      ].join('\n');
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        const started = await eventually(() => out.includes('\n'), 30_000);
        expect(started, `child did not start a sandbox: ${err}`).toBe(true);
        const nodes = JSON.parse(out.trim().split('\n')[0]) as Array<{ pid: number; port: number }>;
        expect(nodes).toHaveLength(3);
        for (const n of nodes) expect(pidGone(n.pid)).toBe(false);
        if (how === 'SIGTERM') child.kill('SIGTERM');
        const code = await exited;
        expect(code).not.toBe(0);
        // SIGKILLed servers are re-parented to init and reaped there.
        for (const n of nodes) expect(await eventually(() => pidGone(n.pid))).toBe(true);
        for (const n of nodes) expect(await refuses(n.port)).toBe(true);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await stopSandboxDir(dir).catch(() => undefined);
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  }
});
