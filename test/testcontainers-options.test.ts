/**
 * The testcontainers sandbox provider, checked without Docker: the options it gives testcontainers
 * (timeouts, port bindings, auto-cleanup, labels, network), applied to real testcontainers objects
 * and read back. Starting containers needs a Docker engine, which CI does not have: nothing here
 * talks to Docker (building a container object does not; only start() would).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as mdb from '@testcontainers/mariadb';
import { LABEL_TESTCONTAINERS_SESSION_ID } from 'testcontainers';
import { defaultProvider } from '../src/sandbox/index.js';
import {
  BIND_HOST,
  SANDBOX_LABEL,
  SESSION_LABEL,
  STOP_TIMEOUT_MS,
  buildContainer,
  containerSpec,
  isLocalEngineHost,
  networkOptions,
  serverCommand,
  settleAll,
} from '../src/sandbox/testcontainers.js';
import { commonServerFlags, planSandbox } from '../src/sandbox/topology.js';

const ROOT = path.join(import.meta.dirname, '..');
const plan = planSandbox({ shards: 2, replicasPerShard: 1 });
const replica = plan.nodes.find((n) => n.name === 'alpha-replica-1')!;

/** The protected fields testcontainers creates the container from. */
interface Internals {
  createOpts: { Cmd?: string[]; Env?: string[]; Labels?: Record<string, string>; ExposedPorts?: Record<string, unknown> };
  hostConfig: { PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>> };
  autoCleanup: boolean;
  networkMode?: string;
  networkAliases: string[];
}

describe('testcontainers provider options', () => {
  it('stops and restarts with 5 s of grace: testcontainers takes ms and sends Docker whole seconds', async () => {
    // testcontainers' own conversion (common/time.js), used for `docker stop -t` / `restart -t`.
    const { toSeconds } = (await import('testcontainers/build/common/time.js' as string)) as { toSeconds: (ms: number) => number };
    expect(toSeconds(STOP_TIMEOUT_MS)).toBe(5);
    expect(toSeconds(5)).toBe(0); // what the old `timeout: 5` became: an immediate kill
  });

  it('publishes MariaDB on a fixed loopback port, so restart keeps the address', () => {
    const spec = containerSpec(replica, 45123, { killOnExit: true, dir: '/tmp/x' });
    expect(spec.portBindings).toEqual({ '3306/tcp': [{ HostIp: '127.0.0.1', HostPort: '45123' }] });
    expect(BIND_HOST).toBe('127.0.0.1');
    const c = buildContainer(mdb, spec, 'net-1') as unknown as Internals;
    // Applied over the HostPort "0" (random port on every interface) MariaDbContainer starts with.
    expect(c.hostConfig.PortBindings).toEqual({ '3306/tcp': [{ HostIp: '127.0.0.1', HostPort: '45123' }] });
    expect(Object.keys(c.createOpts.ExposedPorts ?? {})).toEqual(['3306/tcp']);
  });

  it('runs the sandbox server flags on the sandbox network under the node name', () => {
    const spec = containerSpec(replica, 45123, { killOnExit: true, dir: '/tmp/x' });
    expect(spec.command).toEqual(['--log-bin=mariadb-bin', ...commonServerFlags(replica)]);
    expect(serverCommand(replica)).toContain('--read-only=1');
    const c = buildContainer(mdb, spec, 'net-1') as unknown as Internals;
    expect(c.createOpts.Cmd).toEqual(spec.command);
    expect(c.createOpts.Env).toContain('MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1');
    expect(c.networkMode).toBe('net-1');
    expect(c.networkAliases).toEqual(['alpha-replica-1']);
  });

  it('killOnExit true: Ryuk removes containers and network when the process is gone', () => {
    const spec = containerSpec(replica, 1, { killOnExit: true, dir: '/tmp/x' });
    expect(spec.autoCleanup).toBe(true);
    expect((buildContainer(mdb, spec, 'n') as unknown as Internals).autoCleanup).toBe(true);
    expect(networkOptions('mxo-sandbox-1', { sessionId: 'abc', dir: '/tmp/x' }).Labels).toEqual({ [SESSION_LABEL]: 'abc' });
    expect(SESSION_LABEL).toBe(LABEL_TESTCONTAINERS_SESSION_ID);
  });

  it('killOnExit false (CLI `sandbox start`): no auto-cleanup, nothing carries a Ryuk session label', () => {
    const spec = containerSpec(replica, 1, { killOnExit: false, dir: '/tmp/sb' });
    expect(spec.autoCleanup).toBe(false);
    const c = buildContainer(mdb, spec, 'n') as unknown as Internals;
    expect(c.autoCleanup).toBe(false);
    expect(c.createOpts.Labels?.[SANDBOX_LABEL]).toBe('/tmp/sb');
    expect(Object.keys(c.createOpts.Labels ?? {})).not.toContain(LABEL_TESTCONTAINERS_SESSION_ID);
    const network = networkOptions('mxo-sandbox-1', { dir: '/tmp/sb' });
    expect(network).toMatchObject({ Name: 'mxo-sandbox-1', Driver: 'bridge' });
    expect(Object.keys(network.Labels)).not.toContain(LABEL_TESTCONTAINERS_SESSION_ID);
  });

  it('a failed start is reported only after every other start has settled (so cleanup sees them all)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let slowStarted = false;
    const slow = gate.then(() => {
      slowStarted = true;
    });
    const outcome = settleAll([Promise.reject(new Error('alpha-primary failed')), slow]).then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    // Let every already-settled promise run its callbacks: with the slow start pending, no verdict yet.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(await Promise.race([outcome, Promise.resolve('pending')])).toBe('pending');
    release();
    expect(await outcome).toBe('alpha-primary failed');
    expect(slowStarted).toBe(true);
  });

  it('accepts only a local engine (ports are published on loopback)', () => {
    for (const h of ['localhost', '127.0.0.1', '::1']) expect(isLocalEngineHost(h)).toBe(true);
    for (const h of ['docker', '10.0.0.5', 'build-host.example']) expect(isLocalEngineHost(h)).toBe(false);
  });

  it('the local-process sandbox stays the default', () => {
    const saved = process.env.MXO_SANDBOX;
    try {
      delete process.env.MXO_SANDBOX;
      expect(defaultProvider()).toBe('local');
      process.env.MXO_SANDBOX = 'testcontainers';
      expect(defaultProvider()).toBe('testcontainers');
    } finally {
      if (saved === undefined) delete process.env.MXO_SANDBOX;
      else process.env.MXO_SANDBOX = saved;
    }
    // Nothing CI runs asks for containers: .ci/run, the npm scripts and vitest's config leave it unset.
    for (const file of ['.ci/run', 'package.json', 'vitest.config.ts']) {
      expect(readFileSync(path.join(ROOT, file), 'utf8'), file).not.toMatch(/MXO_SANDBOX|testcontainers['"]?\s*[,)]/);
    }
  });
});
