/**
 * Local provider: real mariadbd processes started from a per-machine template data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupReplication, waitReady } from './replication.js';
import { SandboxError, buildConfig, commonServerFlags, nodeUrl, planSandbox, verbose, type PlannedNode } from './topology.js';
import { hasExited, pidAlive, pidMatches, trackChild, untrackChild, waitChildExit, waitPidGone } from './process.js';
import type { Sandbox, SandboxNode, SandboxOptions } from './types.js';
import { binaries, copyDir, ensureTemplate, fileTail, TEMPLATE_MARKER, type Binaries } from './mariadb-binaries.js';
import { freePorts } from './ports.js';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const TERM_GRACE_MS = 5_000;
export const PIDS_FILE = 'pids.json';
export const CONFIG_FILE = 'cluster.json';

// ---------------------------------------------------------------------------------------------
// nodes

interface LocalNode {
  plan: PlannedNode;
  info: SandboxNode;
  nodeDir: string;
  dataDir: string;
  socket: string;
  errorLog: string;
  child?: ChildProcess;
}

export interface PidsFile {
  provider: 'local';
  ownerPid: number;
  nodes: Array<{ name: string; pid: number; port: number; dataDir: string }>;
}

function socketPath(nodeDir: string): string {
  const p = path.join(nodeDir, 'mysqld.sock');
  if (Buffer.byteLength(p) <= 100) return p;
  // sun_path is limited to ~107 bytes: fall back to a short, unique path.
  return path.join(os.tmpdir(), `mxo-${createHash('sha1').update(p).digest('hex').slice(0, 16)}.sock`);
}

function serverArgs(n: LocalNode): string[] {
  const args = [
    '--no-defaults',
    `--datadir=${n.dataDir}`,
    `--port=${n.info.port}`,
    `--socket=${n.socket}`,
    `--bind-address=${HOST}`,
    `--pid-file=${path.join(n.nodeDir, 'mysqld.pid')}`,
    `--log-error=${n.errorLog}`,
    `--log-bin=${path.join(n.dataDir, 'mariadb-bin')}`,
    // Its own tmpdir: a starting mariadbd deletes every #sql* file in its tmpdir, which would
    // pull the temporary tables out from under the other sandbox servers sharing /tmp.
    `--tmpdir=${path.join(n.nodeDir, 'tmp')}`,
    ...commonServerFlags(n.plan),
  ];
  // mariadbd refuses to run as root unless told to.
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.splice(1, 0, '--user=root');
  return args;
}

async function spawnAndWait(b: Binaries, n: LocalNode, killOnExit: boolean): Promise<void> {
  const child = spawn(b.mariadbd, serverArgs(n), { stdio: 'ignore', detached: false });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new SandboxError(`cannot start ${b.mariadbd}: ${err.message}`, { cause: err })));
  });
  child.unref();
  if (killOnExit) trackChild(child);
  n.child = child;
  n.info.pid = child.pid;
  let exitedWith: string | undefined;
  let diedOfSignal = false;
  child.once('exit', (code, signal) => {
    exitedWith = `mariadbd exited (code ${code}, signal ${signal})`;
    diedOfSignal = signal !== null;
  });
  try {
    await waitReady(n.info.name, HOST, n.info.port, READY_TIMEOUT_MS, () => exitedWith, n.dataDir);
  } catch (err) {
    const logTail = await fileTail(n.errorLog);
    const crashed = diedOfSignal; // before the SIGKILL below, which is not a crash
    if (!hasExited(child)) {
      child.kill('SIGKILL');
      await waitChildExit(child);
    }
    const message = `${(err as Error).message}\n--- ${n.errorLog} (tail) ---\n${logTail}`;
    throw crashed ? new ServerCrashedError(message, { cause: err }) : new SandboxError(message, { cause: err });
  }
}

/** mariadbd died of a signal (an assertion: SIGABRT) while starting, rather than refusing to start. */
class ServerCrashedError extends SandboxError {}

/**
 * Starts a node again after it was stopped or killed. mariadbd 10.11 has been seen to abort
 * (SIGABRT) in crash recovery after kill -9 under XA load (once in the CI's bank test); a
 * supervisor (systemd's Restart=on-failure) would start it again, and so does this, once, with
 * the first crash reported on stderr. A refusal to start (an exit code) is not retried.
 */
async function startAgain(b: Binaries, n: LocalNode, killOnExit: boolean): Promise<void> {
  try {
    await spawnAndWait(b, n, killOnExit);
  } catch (error) {
    if (!(error instanceof ServerCrashedError)) throw error;
    console.warn(`[mxo-sandbox] ${n.info.name} crashed while starting; starting it once more.\n${error.message}`);
    await spawnAndWait(b, n, killOnExit);
  }
}

async function terminate(n: LocalNode, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const child = n.child;
  if (!child || hasExited(child)) return;
  child.kill(signal);
  if (signal !== 'SIGKILL') {
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([waitChildExit(child).then(() => 'exited' as const), timer])) === 'timeout') {
      verbose(`${n.info.name} did not exit on ${signal} within ${graceMs} ms; SIGKILL`);
      child.kill('SIGKILL');
    }
  }
  await waitChildExit(child);
  untrackChild(child);
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await fs.rename(tmp, file);
}

// ---------------------------------------------------------------------------------------------

export async function startLocalSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const t0 = Date.now();
  const plan = planSandbox(opts);
  const killOnExit = opts.killOnExit ?? true;
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir !== undefined ? path.resolve(opts.dir) : await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-sandbox-'));
  await fs.mkdir(dir, { recursive: true });
  await refuseIfRunning(dir);

  const b = await binaries();
  const template = await ensureTemplate(b);
  const ports = await freePorts(plan.nodes.length);

  const nodes: LocalNode[] = plan.nodes.map((p, i) => {
    const nodeDir = path.join(dir, p.name);
    const port = ports[i];
    return {
      plan: p,
      nodeDir,
      dataDir: path.join(nodeDir, 'data'),
      socket: socketPath(nodeDir),
      errorLog: path.join(nodeDir, 'error.log'),
      info: { name: p.name, role: p.role, shard: p.shard, host: HOST, port, url: nodeUrl(HOST, port, p.database) },
    };
  });
  const byName = new Map(nodes.map((n) => [n.info.name, n]));
  const pidsPath = path.join(dir, PIDS_FILE);
  const writePids = (): Promise<void> =>
    writeJson(pidsPath, {
      provider: 'local',
      ownerPid: process.pid,
      nodes: nodes
        .filter((n) => n.child && !hasExited(n.child) && n.info.pid !== undefined)
        .map((n) => ({ name: n.info.name, pid: n.info.pid as number, port: n.info.port, dataDir: n.dataDir })),
    } satisfies PidsFile);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(nodes.map((n) => terminate(n, 'SIGTERM', TERM_GRACE_MS)));
      await fs.rm(pidsPath, { force: true }).catch(() => undefined);
      if (ownsDir && !process.env.MXO_SANDBOX_KEEP) {
        await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
      for (const n of nodes) {
        if (n.socket.startsWith(os.tmpdir()) && !n.socket.startsWith(dir)) await fs.rm(n.socket, { force: true }).catch(() => undefined);
      }
      verbose(`sandbox ${dir} stopped`);
    })();
    return stopping;
  };

  try {
    const tCopy = Date.now();
    await Promise.all(
      nodes.map(async (n) => {
        await fs.rm(n.nodeDir, { recursive: true, force: true });
        await fs.mkdir(path.join(n.nodeDir, 'tmp'), { recursive: true });
        await copyDir(template, n.dataDir);
        await fs.rm(path.join(n.dataDir, TEMPLATE_MARKER), { force: true });
      }),
    );
    verbose(`copied ${nodes.length} data dirs in ${Date.now() - tCopy} ms`);

    const tStart = Date.now();
    await Promise.all(
      nodes.map(async (n) => {
        // A port probed free can be taken before mariadbd binds it: retry with a fresh port.
        for (let attempt = 1; ; attempt++) {
          try {
            await spawnAndWait(b, n, killOnExit);
            return;
          } catch (err) {
            const inUse = /Address already in use|errno: 98|error: 98/i.test((err as Error).message);
            if (!inUse || attempt >= 3) throw err;
            const [port] = await freePorts(1);
            n.info.port = port;
            n.info.url = nodeUrl(HOST, port, n.plan.database);
            verbose(`${n.info.name}: port taken, retrying on ${port}`);
          }
        }
      }),
    );
    await writePids();
    verbose(`started ${nodes.length} servers in ${Date.now() - tStart} ms`);

    const tRepl = Date.now();
    await setupReplication({
      nodes: nodes.map((n) => ({ name: n.info.name, role: n.info.role, host: HOST, port: n.info.port, primary: n.plan.primary })),
      replUserHost: HOST,
      masterAddress: (primary) => {
        const p = byName.get(primary);
        if (!p) throw new SandboxError(`internal: no primary ${primary}`);
        return { host: HOST, port: p.info.port };
      },
      password: randomBytes(18).toString('base64url'),
      timeoutMs: READY_TIMEOUT_MS,
    });
    verbose(`replication ready in ${Date.now() - tRepl} ms`);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  const config = buildConfig(
    plan,
    nodes.map((n) => n.info),
  );
  const configPath = path.join(dir, CONFIG_FILE);
  await writeJson(configPath, config);
  verbose(`sandbox ${dir} up in ${Date.now() - t0} ms`);

  const get = (name: string): LocalNode => {
    const n = byName.get(name);
    if (!n) throw new SandboxError(`no sandbox node named ${JSON.stringify(name)} (have: ${[...byName.keys()].join(', ')})`);
    return n;
  };

  return {
    dir,
    config,
    configPath,
    nodes: nodes.map((n) => n.info),
    node: (name) => get(name).info,
    async kill(name, signal = 'SIGKILL') {
      const n = get(name);
      await terminate(n, signal, 30_000);
      if (!stopping) await writePids();
    },
    async restart(name) {
      if (stopping) throw new SandboxError('sandbox is stopped');
      const n = get(name);
      await terminate(n, 'SIGTERM', TERM_GRACE_MS);
      await startAgain(b, n, killOnExit);
      await writePids();
    },
    stop,
  };
}

async function readPids(dir: string): Promise<PidsFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, PIDS_FILE), 'utf8')) as PidsFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SandboxError(`cannot read ${path.join(dir, PIDS_FILE)}: ${(err as Error).message}`, { cause: err });
  }
}

async function refuseIfRunning(dir: string): Promise<void> {
  const pids = await readPids(dir).catch(() => undefined);
  const running = pids?.nodes.filter((n) => pidAlive(n.pid) && pidMatches(n.pid, n.dataDir)) ?? [];
  if (running.length > 0) {
    throw new SandboxError(
      `a sandbox is already running in ${dir} (${running.map((n) => `${n.name} pid ${n.pid}`).join(', ')}); stop it first`,
    );
  }
}

/**
 * Stop the servers recorded in `<dir>/pids.json` (e.g. from a CLI `sandbox stop` in another
 * process): SIGTERM, SIGKILL after a few seconds, wait until each pid is gone. A pid whose command
 * line no longer names its data directory (recycled) is left alone. Leaves the directory in place.
 */
export async function stopLocalSandboxDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const pids = await readPids(abs);
  if (!pids) return;
  await Promise.all(
    pids.nodes.map(async (n) => {
      if (!pidMatches(n.pid, n.dataDir)) return;
      try {
        process.kill(n.pid, 'SIGTERM');
      } catch {
        return;
      }
      if (!(await waitPidGone(n.pid, TERM_GRACE_MS))) {
        try {
          process.kill(n.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        if (!(await waitPidGone(n.pid, 10_000))) {
          throw new SandboxError(`process ${n.pid} (${n.name}) did not exit`);
        }
      }
    }),
  );
  await fs.rm(path.join(abs, PIDS_FILE), { force: true });
}
