/**
 * Sandbox: a throwaway cluster of real MariaDB servers (global primary + N shards, each a primary
 * with GTID replicas), started as local mariadbd processes or, with MXO_SANDBOX=testcontainers,
 * as Docker containers.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { startLocalSandbox, stopLocalSandboxDir } from './local.js';
import { SandboxError } from './topology.js';
import type { Sandbox, SandboxOptions } from './types.js';

export type { Sandbox, SandboxClusterConfig, SandboxNode, SandboxOptions } from './types.js';
export { SandboxError, shardName } from './topology.js';

export function defaultProvider(): 'local' | 'testcontainers' {
  return process.env.MXO_SANDBOX === 'testcontainers' ? 'testcontainers' : 'local';
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const provider = opts.provider ?? defaultProvider();
  if (provider === 'local') return startLocalSandbox(opts);
  if (provider === 'testcontainers') {
    const { startContainerSandbox } = await import('./testcontainers.js');
    return startContainerSandbox(opts);
  }
  throw new SandboxError(`unknown sandbox provider ${JSON.stringify(provider)} (expected 'local' or 'testcontainers')`);
}

/**
 * Stop the servers recorded in `<dir>/pids.json` by a sandbox started in any process (for a CLI
 * `sandbox stop`). Waits until they are gone; does nothing when the file is absent. Keeps `dir`.
 */
export async function stopSandboxDir(dir: string): Promise<void> {
  let provider: string | undefined;
  try {
    provider = (JSON.parse(await fs.readFile(path.join(dir, 'pids.json'), 'utf8')) as { provider?: string }).provider;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SandboxError(`cannot read ${path.join(dir, 'pids.json')}: ${(err as Error).message}`, { cause: err });
  }
  if (provider === 'testcontainers') {
    const { stopContainerSandboxDir } = await import('./testcontainers.js');
    const file = JSON.parse(await fs.readFile(path.join(dir, 'pids.json'), 'utf8'));
    return stopContainerSandboxDir(dir, file);
  }
  return stopLocalSandboxDir(dir);
}
