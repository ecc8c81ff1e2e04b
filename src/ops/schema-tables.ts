import { listMigrationFiles } from '../migrate/index.js';

/**
 * The tables the migrations create on a node: reference + global tiers on global, reference +
 * shard tiers on a shard. Table-level grants are made from this list (src/ops/user-grants.ts), so
 * a table a later migration adds is granted by the next `users` run (a grant may name a table
 * that does not exist yet: it takes effect when the table is created).
 */
export async function tablesOfNode(shard: boolean, sqlDir?: string): Promise<string[]> {
  const tables = new Set<string>();
  for (const tier of ['reference', shard ? 'shard' : 'global'] as const) {
    for (const file of await listMigrationFiles(tier, sqlDir)) {
      const sql = file.sql.replace(/--[^\n]*/g, '');
      for (const m of sql.matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z0-9_]+)`?/gi)) tables.add(m[1]!);
    }
  }
  return [...tables].sort();
}

/** The views the migrations create on a node (read-only to every account that reads tables). */
export async function viewsOfNode(shard: boolean, sqlDir?: string): Promise<string[]> {
  const views = new Set<string>();
  for (const tier of ['reference', shard ? 'shard' : 'global'] as const) {
    for (const file of await listMigrationFiles(tier, sqlDir)) {
      const sql = file.sql.replace(/--[^\n]*/g, '');
      for (const m of sql.matchAll(/CREATE\s+(?:OR\s+REPLACE\s+)?(?:[A-Z_]+\s*=\s*\S+\s+|SQL\s+SECURITY\s+\w+\s+)*VIEW\s+`?([A-Za-z0-9_]+)`?/gi)) views.add(m[1]!);
    }
  }
  return [...views].sort();
}
