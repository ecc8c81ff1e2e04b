/**
 * testcontainers provider: the same topology as the local provider, one `mariadb:10.11` container
 * per node on a private Docker network. Loaded lazily so the library works without testcontainers.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StartedMariaDbContainer } from '@testcontainers/mariadb';
import type { StartedNetwork } from 'testcontainers';
import { setupReplication, waitReady } from './replication.js';
import { SandboxError, buildConfig, commonServerFlags, nodeUrl, planSandbox, verbose, type PlannedNode } from './topology.js';
import type { Sandbox, SandboxNode, SandboxOptions } from './types.js';

export const IMAGE = process.env.MXO_SANDBOX_IMAGE ?? 'mariadb:10.11';
const MARIADB_PORT = 3306;
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_S = 5;

export interface ContainerPidsFile {
  provider: 'testcontainers';
  ownerPid: number;
  network: string;
  containers: Array<{ name: string; id: string }>;
}

type Tc = typeof import('testcontainers');
type TcMariaDb = typeof import('@testcontainers/mariadb');

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

interface ContainerNode {
  plan: PlannedNode;
  info: SandboxNode;
  started?: StartedMariaDbContainer;
}

function serverCommand(p: PlannedNode): string[] {
  // The image's entrypoint prepends `mariadbd` to arguments starting with '-', and reads the
  // image's own config (so no --no-defaults); it listens on 0.0.0.0:3306 inside the container.
  return ['--log-bin=mariadb-bin', ...commonServerFlags(p)];
}

export async function startContainerSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const t0 = Date.now();
  const plan = planSandbox(opts);
  const { tc, mdb } = await loadModules();
  const client = await dockerClient(tc);

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir !== undefined ? path.resolve(opts.dir) : await fs.mkdtemp(path.join(os.tmpdir(), 'mxo-sandbox-'));
  await fs.mkdir(dir, { recursive: true });

  const nodes: ContainerNode[] = plan.nodes.map((p) => ({
    plan: p,
    info: { name: p.name, role: p.role, shard: p.shard, host: '', port: 0, url: '' },
  }));
  const byName = new Map(nodes.map((n) => [n.info.name, n]));
  const pidsPath = path.join(dir, 'pids.json');
  const configPath = path.join(dir, 'cluster.json');
  let network: StartedNetwork | undefined;

  const refresh = (n: ContainerNode): void => {
    if (!n.started) return;
    n.info.host = n.started.getHost();
    n.info.port = n.started.getMappedPort(MARIADB_PORT);
    n.info.url = nodeUrl(n.info.host, n.info.port, n.plan.database);
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(
        nodes.map((n) => n.started?.stop({ timeout: STOP_TIMEOUT_S, remove: true, removeVolumes: true }).catch(() => undefined)),
      );
      await network?.stop().catch(() => undefined);
      await fs.rm(pidsPath, { force: true }).catch(() => undefined);
      if (ownsDir && !process.env.MXO_SANDBOX_KEEP) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    })();
    return stopping;
  };

  try {
    network = await new tc.Network().start();
    const net = network;
    await Promise.all(
      nodes.map(async (n) => {
        n.started = await new mdb.MariaDbContainer(IMAGE)
          .withRootPassword('')
          .withEnvironment({ MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1' })
          .withNetwork(net)
          .withNetworkAliases(n.info.name)
          .withCommand(serverCommand(n.plan))
          .start();
        refresh(n);
        await waitReady(n.info.name, n.info.host, n.info.port, READY_TIMEOUT_MS, () => undefined);
      }),
    );
    await fs.writeFile(
      pidsPath,
      `${JSON.stringify(
        {
          provider: 'testcontainers',
          ownerPid: process.pid,
          network: net.getId(),
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

  const config = buildConfig(plan, nodes.map((n) => n.info));
  const writeConfig = async (): Promise<void> => {
    // Docker may map a different host port after a restart: keep config and cluster.json current.
    Object.assign(config, buildConfig(plan, nodes.map((n) => n.info)));
    await fs.writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  };
  await writeConfig();
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
      await n.started!.restart({ timeout: STOP_TIMEOUT_S });
      refresh(n);
      await waitReady(n.info.name, n.info.host, n.info.port, READY_TIMEOUT_MS, () => undefined);
      await writeConfig();
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
      await client.container.stop(c, { timeout: STOP_TIMEOUT_S }).catch(() => undefined);
      await client.container.remove(c, { removeVolumes: true }).catch(() => undefined);
    }),
  );
  if (file.network) await client.network.remove(client.network.getById(file.network)).catch(() => undefined);
  await fs.rm(path.join(dir, 'pids.json'), { force: true });
}
