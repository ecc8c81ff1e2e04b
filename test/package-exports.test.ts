import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** What a cluster server sees when it imports `specifier` from the built package (dist/, as npm test builds it). */
async function exportsOf(specifier: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [
    '--input-type=module',
    '-e',
    `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`,
  ]);
  return JSON.parse(stdout) as string[];
}

describe('the published entry points', () => {
  it('mxo-data exports the cluster, config helpers, errors, sandbox and metrics', async () => {
    const names = await exportsOf('mxo-data');
    for (const name of [
      'openCluster',
      'defineCluster',
      'Cluster',
      'DataSession',
      'MxoError',
      'ValidationError',
      'ConflictError',
      'OutcomeUnknownError',
      'startSandbox',
      'metricsHandler',
      'startMetricsServer',
      'createMetrics',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('mxo-data/sandbox and mxo-data/metrics are subpath exports with their own surface', async () => {
    expect(await exportsOf('mxo-data/sandbox')).toEqual(expect.arrayContaining(['startSandbox', 'stopSandboxDir', 'SandboxError']));
    expect(await exportsOf('mxo-data/metrics')).toEqual(['createMetrics', 'metricsHandler', 'startMetricsServer']);
  });

  it('every export of package.json points at a built file with its types', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as {
      exports: Record<string, string | { types: string; import: string }>;
    };
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      await expect(readFile(target.import, 'utf8'), subpath).resolves.toBeTruthy();
      await expect(readFile(target.types, 'utf8'), subpath).resolves.toMatch(/export/);
    }
  });
});
