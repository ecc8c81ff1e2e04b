import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A schema tier: which node kinds a migration file is applied to. */
export type Tier = 'global' | 'reference' | 'shard';

/** Every tier, in the order they are applied on a node (reference first: others have FKs to it). */
export const TIER_ORDER: readonly Tier[] = ['reference', 'global', 'shard'];

/**
 * The package's `sql/` directory. Resolved relative to this module, so it is right both from
 * `src/migrate/` (tests, tsx) and from `dist/migrate/` (the built package ships `sql/`).
 */
export const SQL_DIR = fileURLToPath(new URL('../../sql', import.meta.url));

/** One migration file of one tier. */
export interface MigrationFile {
  tier: Tier;
  /** File name inside `sql/<tier>/`, e.g. `001_shard.sql`. */
  name: string;
  /** The file's text. */
  sql: string;
  /** sha256 of the file's bytes, lowercase hex. */
  hash: string;
}

/** sha256 hex of a string's UTF-8 bytes. */
export function hashSql(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The `*.sql` files of a tier, sorted by name (so `001_...`, `002_...` apply in order).
 * A missing tier directory means no files.
 */
export async function listMigrationFiles(tier: Tier, sqlDir: string = SQL_DIR): Promise<MigrationFile[]> {
  if (!TIER_ORDER.includes(tier)) throw new Error(`unknown migration tier "${String(tier)}"`);
  const dir = path.join(sqlDir, tier);
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith('.sql'))
      .map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: MigrationFile[] = [];
  for (const name of names) {
    const bytes = await readFile(path.join(dir, name));
    files.push({ tier, name, sql: bytes.toString('utf8'), hash: hashSql(bytes) });
  }
  return files;
}
