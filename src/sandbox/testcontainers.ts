/**
 * testcontainers provider: the same topology as the local provider, one `mariadb:10.11` container
 * per node on a private Docker network. Loaded lazily so the library works without testcontainers.
 * Runs only where a local Docker engine is reachable; CI and the default use local processes.
 *
 * The options each container gets are built by pure functions (`containerSpec`, `networkOptions`)
 * that test/testcontainers-options.test.ts checks without Docker.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MariaDbContainer, StartedMariaDbContainer } from '@testcontainers/mariadb';
import { setupReplication, waitReady } from './replication.js';
import { SandboxError, buildConfig, commonServerFlags, nodeUrl, planSandbox, verbose, type PlannedNode } from './topology.js';
import type { Sandbox, SandboxNode, SandboxOptions } from './types.js';

export const IMAGE = process.env.MXO_SANDBOX_IMAGE ?? 'mariadb:10.11';
const MARIADB_PORT = 3306;
const READY_TIMEOUT_MS = 120_000;
/**
 * Grace between SIGTERM and SIGKILL on stop/restart, as the local provider gives. testcontainers
 * takes MILLISECONDS and sends Docker `t = trunc(ms / 1000)` seconds (5 would be `t = 0`: a kill).
 */
export const STOP_TIMEOUT_MS = 5_000;
/** Host address every container port is published on: root has no password. */
export const BIND_HOST = '127.0.0.1';
/** Label on the network and containers of a sandbox that outlives its process (killOnExit: false). */
export const SANDBOX_LABEL = 'org.mxo-data.sandbox';
/** testcontainers' session label: Ryuk removes what carries it once the creating process is gone. */
export const SESSION_LABEL = 'org.testcontainers.session-id';
const PORT_ATTEMPTS = 3;

export interface ContainerPidsFile {
  provider: 'testcontainers';
  ownerPid: number;
  network: string;
  containers: Array<{ name: string; id: string }>;
}

/** What one node's container is created with. */
export interface ContainerSpec {
  image: string;
  /** Network alias: the node name, which replicas use as MASTER_HOST. */
  alias: string;
  command: string[];
  environment: Record<string, string>;
  /** Docker HostConfig.PortBindings: the MariaDB port on a fixed loopback port. */
  portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
  /** false: no Ryuk session label, so the container outlives this process. */
  autoCleanup: boolean;
  labels: Record<string, string>;
}

type Tc = typeof import('testcontainers');
type TcMariaDb = typeof import('@testcontainers/mariadb');

export function serverCommand(p: PlannedNode): string[] {
  // The image's entrypoint prepends `mariadbd` to arguments starting with '-', and reads the
  // image's own config (so no --no-defaults); it listens on 0.0.0.0:3306 inside the container.
  return ['--log-bin=mariadb-bin', ...commonServerFlags(p)];
}

export function containerSpec(p: PlannedNode, hostPort: number, opts: { killOnExit: boolean; dir: string; image?: string }): ContainerSpec {
  return {
    image: opts.image ?? IMAGE,
    alias: p.name,
    command: serverCommand(p),
    environment: { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1' },
    // A fixed host port keeps the node's address across restart() (Docker would pick a new one
    // for HostPort 0), and loopback keeps a password-less root off the network.
    portBindings: { [`${MARIADB_PORT}/tcp`]: [{ HostIp: BIND_HOST, HostPort: String(hostPort) }] },
    autoCleanup: opts.killOnExit,
    labels: opts.killOnExit ? {} : { [SANDBOX_LABEL]: opts.dir },
  };
}

/** Options for the sandbox network: Ryuk-labelled only when it should die with this process. */
export function networkOptions(
  name: string,
  opts: { sessionId?: string; dir: string },
): { Name: string; CheckDuplicate: boolean; Driver: string; Labels: Record<string, string> } {
  const labels: Record<string, string> = opts.sessionId ? { [SESSION_LABEL]: opts.sessionId } : { [SANDBOX_LABEL]: opts.dir };
  return { Name: name, CheckDuplicate: true, Driver: 'bridge', Labels: labels };
}

/** A MariaDbContainer with the spec applied (port bindings through the protected hostConfig). */
export function buildContainer(mdb: TcMariaDb, spec: ContainerSpec, network: string): MariaDbContainer {
  class PinnedMariaDbContainer extends mdb.MariaDbContainer {
    withPortBindings(bindings: ContainerSpec['portBindings']): this {
      this.hostConfig.PortBindings = bindings;
      return this;
    }
  }
  return new PinnedMariaDbContainer(spec.image)
    .withRootPassword('')
    .withEnvironment(spec.environment)
    .withNetworkMode(network)
    .withNetworkAliases(spec.alias)
    .withCommand(spec.command)
    .withLabels(spec.labels)
    .withAutoCleanup(spec.autoCleanup)
    .withPortBindings(spec.portBindings);
}

/**
 * Wait for every task, then throw the first failure: cleanup must not start while a container is
 * still being created (it would be missed and leak).
 */
export async function settleAll(tasks: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Docker publishes on the engine's host: loopback ports are reachable only from a local engine. */
export function isLocalEngineHost(host: string): boolean {
  return ['localhost', '127.0.0.1', '::1', '[::1]'].includes(host);
}

async function loadModules(): Promise<{ tc: Tc; mdb: TcMariaDb }> {
  try {
    const [tc, mdb] = await Promise.all([import('testcontainers'), import('@testcontainers/mariadb')]);
    return { tc, mdb };
  } catch (err) {
    throw new SandboxError(
      'sandbox provider "testcontainers" needs the packages testcontainers and @testcontainers/mariadb ' +
        `(npm install --save-dev testcontainers @testcontainers/mariadb): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

async function dockerClient(tc: Tc) {
  try {
    return await tc.getContainerRuntimeClient();
  } catch (err) {
    throw new SandboxError(
      'sandbox provider "testcontainers": no Docker engine is reachable (start Docker, set DOCKER_HOST, ' +
        `or use the local provider with MXO_SANDBOX unset): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A loopback port nothing listens on right now. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, BIND_HOST, () => resolve());
  });
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface ContainerNode {
  plan: PlannedNode;
  info: SandboxNode;
  started?: StartedMariaDbContainer;
}

export async function startContainerSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const t0 = Date.now();
  const plan = planSandbox(opts);
  const killOnExit = opts.killOnExit ?? true;
  const { tc, mdb } = await loadModules();
  const client = await dockerClient(tc);
  const engineHost = client.info.containerRuntime.host;
  if (!isLocalEngineHost(engineHost)) {
    throw new SandboxError(
      `sandbox provider "testcontainers" needs a local Docker engine (it publishes ports on ${BIND_HOST}); ` +
        `the engine is at ${engineHost}: use the local provider (MXO_SANDBOX unset)`,
    );
  }

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir !== undefined ? path.resolve(opts.dir) : await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-sandbox-'));
  await fs.mkdir(dir, { recursive: true });

  const nodes: ContainerNode[] = plan.nodes.map((p) => ({
    plan: p,
    info: { name: p.name, role: p.role, shard: p.shard, host: BIND_HOST, port: 0, url: '' },
  }));
  const byName = new Map(nodes.map((n) => [n.info.name, n]));
  const pidsPath = path.join(dir, 'pids.json');
  const configPath = path.join(dir, 'cluster.json');
  let networkId: string | undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(
        nodes.map((n) => n.started?.stop({ timeout: STOP_TIMEOUT_MS, remove: true, removeVolumes: true }).catch(() => undefined)),
      );
      if (networkId) await client.network.remove(client.network.getById(networkId)).catch(() => undefined);
      await fs.rm(pidsPath, { force: true }).catch(() => undefined);
      if (ownsDir && !process.env.MXO_SANDBOX_KEEP) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    })();
    return stopping;
  };

  const startNode = async (n: ContainerNode, networkName: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const spec = containerSpec(n.plan, port, { killOnExit, dir });
      try {
        n.started = await buildContainer(mdb, spec, networkName).start();
      } catch (err) {
        // The port probed free was taken before Docker bound it: try another.
        if (attempt < PORT_ATTEMPTS && /port is already allocated|address already in use/i.test(String(err))) continue;
        throw err;
      }
      n.info.port = port;
      n.info.url = nodeUrl(BIND_HOST, port, n.plan.database);
      await waitReady(n.info.name, BIND_HOST, port, READY_TIMEOUT_MS, () => undefined);
      return;
    }
  };

  try {
    const sessionId = killOnExit ? (await tc.getReaper(client)).sessionId : undefined;
    const networkName = `mxo-sandbox-${randomBytes(6).toString('hex')}`;
    networkId = (await client.network.create(networkOptions(networkName, { sessionId, dir }))).id;
    await settleAll(nodes.map((n) => startNode(n, networkName)));
    await fs.writeFile(
      pidsPath,
      `${JSON.stringify(
        {
          provider: 'testcontainers',
          ownerPid: process.pid,
          network: networkId,
          containers: nodes.map((n) => ({ name: n.info.name, id: n.started?.getId() ?? '' })),
        } satisfies ContainerPidsFile,
        null,
        2,
      )}\n`,
    );
    await setupReplication({
      nodes: nodes.map((n) => ({ name: n.info.name, role: n.info.role, host: n.info.host, port: n.info.port, primary: n.plan.primary })),
      replUserHost: '%',
      masterAddress: (primary) => ({ host: primary, port: MARIADB_PORT }),
      password: randomBytes(18).toString('base64url'),
      timeoutMs: 60_000,
    });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  const config = buildConfig(
    plan,
    nodes.map((n) => n.info),
  );
  await fs.writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  verbose(`container sandbox ${dir} up in ${Date.now() - t0} ms`);

  const get = (name: string): ContainerNode => {
    const n = byName.get(name);
    if (!n?.started) throw new SandboxError(`no sandbox node named ${JSON.stringify(name)} (have: ${[...byName.keys()].join(', ')})`);
    return n;
  };

  const isRunning = async (n: ContainerNode): Promise<boolean> => {
    const c = client.container.getById(n.started!.getId());
    const st = await client.container.inspect(c);
    return Boolean(st.State.Running);
  };

  return {
    dir,
    config,
    configPath,
    nodes: nodes.map((n) => n.info),
    node: (name) => get(name).info,
    async kill(name, signal = 'SIGKILL') {
      const n = get(name);
      const c = client.container.getById(n.started!.getId());
      if (!(await isRunning(n))) return;
      await c.kill({ signal }).catch(() => undefined);
      const deadline = Date.now() + 30_000;
      while (await isRunning(n)) {
        if (Date.now() > deadline) {
          await c.kill({ signal: 'SIGKILL' }).catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async restart(name) {
      if (stopping) throw new SandboxError('sandbox is stopped');
      const n = get(name);
      // Same container, same volume, same fixed host port: the address in `config` stays valid.
      await n.started!.restart({ timeout: STOP_TIMEOUT_MS });
      await waitReady(n.info.name, n.info.host, n.info.port, READY_TIMEOUT_MS, () => undefined);
    },
    stop,
  };
}

/** Stop and remove the containers (and network) recorded by a container sandbox in `<dir>/pids.json`. */
export async function stopContainerSandboxDir(dir: string, file: ContainerPidsFile): Promise<void> {
  const { tc } = await loadModules();
  const client = await dockerClient(tc);
  await Promise.all(
    file.containers.map(async ({ id }) => {
      if (!id) return;
      const c = client.container.getById(id);
      await client.container.stop(c, { timeout: STOP_TIMEOUT_MS }).catch(() => undefined);
      await client.container.remove(c, { removeVolumes: true }).catch(() => undefined);
    }),
  );
  if (file.network) await client.network.remove(client.network.getById(file.network)).catch(() => undefined);
  await fs.rm(path.join(dir, 'pids.json'), { force: true });
}
