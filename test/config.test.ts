import { writeFile } from 'node:fs/promises';
import { useTempDirs } from './support/temp-dirs.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, openCluster, resolveClusterConfig, UnknownDistrictError } from '../src/index.js';

const tempDir = useTempDirs();

const base = () => ({
  global: { primary: 'mysql://mxo@127.0.0.1:3307/mxo_global' },
  shards: [
    { name: 'alpha', primary: 'mysql://mxo@127.0.0.1:3308/mxo_shard', districts: [1, 2, 3] },
    { name: 'beta', primary: 'mysql://mxo@127.0.0.1:3310/mxo_shard', districts: [4, 5, 6] },
  ],
});

function configError(input: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    resolveClusterConfig(input, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG');
    return error as ConfigError;
  }
  throw new Error('config was accepted');
}

describe('cluster config', () => {
  it('accepts a valid config and fills defaults', () => {
    const config = resolveClusterConfig(base(), {});
    expect(config.shards.map((s) => s.name)).toEqual(['alpha', 'beta']);
    expect(config.shards[0]!.primary).toMatchObject({ host: '127.0.0.1', port: 3308, user: 'mxo', database: 'mxo_shard' });
    expect(config.pool.max).toBeGreaterThan(0);
  });

  it('names a district owned by two shards', () => {
    const input = base();
    input.shards[1]!.districts = [3, 4];
    const error = configError(input);
    expect(error.fields).toContain('shards.1.districts.0');
    expect(error.message).toMatch(/district 3 is owned by both "alpha" and "beta"/);
  });

  it('names a shard without a primary', () => {
    const input = base() as { shards: Array<Record<string, unknown>> };
    delete input.shards[1]!.primary;
    expect(configError(input).fields).toContain('shards.1.primary');
  });

  it('names a malformed URL and a wrong scheme', () => {
    const input = base();
    input.shards[0]!.primary = 'not a url';
    input.global.primary = 'postgres://mxo@127.0.0.1/x';
    const error = configError(input);
    expect(error.fields).toEqual(expect.arrayContaining(['shards.0.primary', 'global.primary']));
  });

  it('names an unknown key', () => {
    const input = { ...base(), shardz: [] };
    const error = configError(input);
    expect(error.message).toMatch(/shardz/);
  });

  it('rejects duplicate shard names and the reserved name global', () => {
    const input = base();
    input.shards[1]!.name = 'alpha';
    expect(configError(input).fields).toContain('shards.1.name');
    const reserved = base();
    reserved.shards[0]!.name = 'global';
    expect(configError(reserved).fields).toContain('shards.0.name');
  });

  it('takes passwords from the environment, never requiring them in the file', () => {
    const input: { global: unknown; shards: Array<Record<string, unknown>> } = base();
    input.shards[1]!.primary = { host: 'db', port: 3310, user: 'mxo', passwordEnv: 'BETA_PW', database: 'mxo_shard' };
    const config = resolveClusterConfig(input, { BETA_PW: 's3cret', MXO_DB_PASSWORD: 'shared' });
    expect(config.shards[1]!.primary.password).toBe('s3cret');
    expect(config.shards[0]!.primary.password).toBe('shared');
    // A named variable that is not set is an error naming the field, not a silent empty password.
    expect(configError(input, {}).fields).toContain('shards.1.primary.passwordEnv');
  });

  it('does not echo a password from a URL in errors', () => {
    const input = base();
    input.shards[0]!.primary = 'mysql://mxo:hunter2@127.0.0.1:3308/';
    const error = configError(input);
    expect(error.message).not.toMatch(/hunter2/);
  });

  it('routes districts and names an unknown one', async () => {
    const db = await openCluster({ ...base(), recovery: { intervalMs: 0 } });
    try {
      expect(db.shardOfDistrict(4)).toBe('beta');
      expect(db.shardOfDistrict(1)).toBe('alpha');
      expect(() => db.shardOfDistrict(99)).toThrow(UnknownDistrictError);
      expect(() => db.shardOfDistrict(99)).toThrow(/district 99/);
    } finally {
      await db.close();
    }
  });

  it('loads .ts, .json and .js config files', async () => {
    const dir = tempDir('mxo-config-');
    const ts = path.join(dir, 'cluster.config.ts');
    await writeFile(
      ts,
      `const port: number = 3308;\nexport default ${JSON.stringify(base()).replace('3308', '" + port + "').replace('"mysql://mxo@127.0.0.1:" + port + "/mxo_shard"', '`mysql://mxo@127.0.0.1:${port}/mxo_shard`')};\n`,
    );
    const json = path.join(dir, 'cluster.json');
    await writeFile(json, JSON.stringify(base()));
    const js = path.join(dir, 'cluster.mjs');
    await writeFile(js, `export default ${JSON.stringify(base())};`);
    for (const file of [ts, json, js, path.resolve('shards.config.ts')]) {
      const db = await openCluster(file, { env: { MXO_BETA_PASSWORD: 'x' } });
      try {
        expect(db.shardOfDistrict(5)).toBe('beta');
        // The shipped config owns the client's districts: 0 (tutorial) .. 0x12 (caves) and 0x385 (loading area).
        if (file.endsWith('shards.config.ts'))
          for (const d of [...Array.from({ length: 0x13 }, (_, i) => i), 0x385]) expect(db.shardOfDistrict(d)).toMatch(/^(alpha|beta)$/);
      } finally {
        await db.close();
      }
    }
    await expect(openCluster(path.join(dir, 'missing.ts'))).rejects.toBeInstanceOf(ConfigError);
    await expect(openCluster(path.join(dir, 'cluster.yaml'))).rejects.toThrow(/unsupported config file type/);
  });
});
