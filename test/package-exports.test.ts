import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
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

  it('no published declaration names zod: the public types are written-out interfaces', async () => {
    const files = (await readdir('dist', { recursive: true })).filter((f) => f.endsWith('.d.ts'));
    expect(files.length).toBeGreaterThan(50);
    const naming: string[] = [];
    for (const file of files) if (/zod/i.test(await readFile(path.join('dist', file), 'utf8'))) naming.push(file);
    expect(naming).toEqual([]);
  });

  it('the published declarations compile for a consumer (nothing they use was stripped as internal)', async () => {
    // Inside the package, so `mxo-data` resolves to this package by its exports; every dist .d.ts
    // is checked (skipLibCheck off), not only those the entry points reach.
    const dir = await mkdtemp('.consumer-');
    try {
      await writeFile(
        path.join(dir, 'consumer.ts'),
        `import { openCluster, type ClusterConfigInput, type TradeInput, type MissionTemplateInput, type VendorDefinition,
           type ItemGrant, type DistrictDefinition, type RegisterInput, type CombatRecordInput } from 'mxo-data';
         import { startSandbox } from 'mxo-data/sandbox';
         import { createMetrics } from 'mxo-data/metrics';
         const config: ClusterConfigInput = { global: { primary: 'mysql://app@127.0.0.1:3306/mxo_global' }, shards: [] };
         export type Inputs = [TradeInput, MissionTemplateInput, VendorDefinition, ItemGrant, DistrictDefinition, RegisterInput, CombatRecordInput];
         export const used = [config, openCluster, startSandbox, createMetrics];\n`,
      );
      await writeFile(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
          files: ['consumer.ts'],
          include: ['../dist/**/*.d.ts'],
        }),
      );
      const tsc = run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', path.join(dir, 'tsconfig.json')]);
      await expect(tsc.catch((e: { stdout?: string }) => Promise.reject(new Error(e.stdout ?? String(e))))).resolves.toBeDefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
