import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
// `npm test` builds first; the CLI is tested as users run it, from dist/.
const CLI = path.resolve('dist/cli.js');

describe('cli', () => {
  it('demo starts a sandbox, runs the scenario across both shards and stops everything', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'demo'], { timeout: 90_000 });
    expect(stdout).toMatch(/-> shard alpha/);
    expect(stdout).toMatch(/-> shard beta/);
    expect(stdout).toMatch(/cross-shard, XA mxo:/);
    expect(stdout).toMatch(/template \d+\s+global-primary, alpha-primary, alpha-replica-1, beta-primary, beta-replica-1/);
    expect(stdout).toMatch(/shard beta -> alpha, same id/);
    expect(stdout).toMatch(/sandbox stopped/);
  });

  it('sandbox start / migrate / recover / sandbox stop', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mxo-cli-'));
    const start = await run(process.execPath, [CLI, 'sandbox', 'start', '--dir', dir, '--shards', '1', '--replicas', '0'], { timeout: 60_000 });
    expect(start.stdout).toMatch(/sandbox running/);
    const pids = Object.values(JSON.parse(await readFile(path.join(dir, 'pids.json'), 'utf8')) as Record<string, unknown>);
    expect(pids.length).toBeGreaterThan(0);
    try {
      const config = path.join(dir, 'cluster.json');
      const first = await run(process.execPath, [CLI, 'migrate', '--config', config], { timeout: 60_000 });
      expect(first.stdout).toMatch(/global-primary: applied 2/);
      const second = await run(process.execPath, [CLI, 'migrate', '--config', config], { timeout: 60_000 });
      expect(second.stdout).toMatch(/global-primary: applied 0/);
      const recovered = await run(process.execPath, [CLI, 'recover', '--config', config], { timeout: 60_000 });
      expect(JSON.parse(recovered.stdout)).toMatchObject({ committed: [], rolledBack: [], unreachable: [] });
    } finally {
      await run(process.execPath, [CLI, 'sandbox', 'stop', '--dir', dir], { timeout: 60_000 });
    }
    await expect(run(process.execPath, [CLI, 'migrate', '--config', path.join(dir, 'cluster.json')], { timeout: 60_000 })).rejects.toMatchObject({ code: 1 });
  });

  it('explains usage errors', async () => {
    await expect(run(process.execPath, [CLI, 'frobnicate'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command/) });
  });
});
