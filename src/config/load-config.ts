import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';

/**
 * Loads a cluster config file: `.json`, `.js`/`.mjs` (default export), or `.ts`/`.mts`
 * (default export, compiled on the fly with tsx so a plain Node process can read shards.config.ts).
 */
export async function loadConfigFile(file: string): Promise<unknown> {
  const absolute = path.resolve(file);
  const ext = path.extname(absolute);
  try {
    if (ext === '.json') return JSON.parse(await readFile(absolute, 'utf8'));
    if (ext === '.js' || ext === '.mjs') {
      return ((await import(pathToFileURL(absolute).href)) as { default?: unknown }).default;
    }
    if (ext === '.ts' || ext === '.mts') {
      const { tsImport } = await import('tsx/esm/api');
      const mod = (await tsImport(pathToFileURL(absolute).href, import.meta.url)) as { default?: unknown };
      // tsx may wrap the module namespace once more when the file is compiled as CommonJS.
      const value = mod.default as { default?: unknown } | undefined;
      return value && typeof value === 'object' && 'global' in value ? value : value?.default;
    }
  } catch (cause) {
    throw new ConfigError([{ field: 'configPath', message: `cannot load ${absolute}: ${(cause as Error).message}` }], { cause });
  }
  throw new ConfigError([{ field: 'configPath', message: `unsupported config file type "${ext}" (use .ts, .js, .mjs or .json)` }]);
}
