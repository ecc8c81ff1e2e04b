/**
 * The seed schema (the design's source document), parsed: every CREATE TABLE with its columns
 * and their declared types, the views and the procedures. Tests check the migrated schema
 * against it so no seed table or column can go missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitSqlStatements } from '../../src/migrate/split-sql.js';
import type { Tier } from '../../src/migrate/migration-files.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The in-repo copy of the seed (so a clean clone has it). */
export const SEED_FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'seed-schema.md');

/** Where the seed is read from: $MXO_SEED_FILE, else the in-repo copy, else the shared original. */
export function seedFilePath(): string {
  if (process.env.MXO_SEED_FILE) return process.env.MXO_SEED_FILE;
  if (existsSync(SEED_FIXTURE)) return SEED_FIXTURE;
  return path.resolve(repoRoot, '../shared/seed/000_2a522eae9498a5f3.txt');
}

export interface SeedColumn {
  name: string;
  /** Declared type, keyword upper-cased, arguments as written: `VARCHAR(32)`, `ENUM('a', 'b')`, `BOOLEAN`. */
  type: string;
}

export interface SeedSchema {
  /** table -> column names, in declaration order. */
  tables: Map<string, string[]>;
  /** table -> column name -> declared type. */
  columnTypes: Map<string, Map<string, string>>;
  views: string[];
  procedures: string[];
}

/** Removes `-- `, `#` and `/* *\/` comments outside quotes. */
export function stripSqlComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1] ?? '';
    if ((ch === '-' && next === '-' && /\s|^$/.test(sql[i + 2] ?? '')) || ch === '#') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      out += ' ';
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '\\' && ch !== '`') {
          j += 2;
          continue;
        }
        if (sql[j] === ch) {
          if (sql[j + 1] === ch) {
            j += 2;
            continue;
          }
          j++;
          break;
        }
        j++;
      }
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/** Splits on commas that are not inside parentheses or quotes. */
function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const NOT_A_COLUMN = /^(INDEX|KEY|PRIMARY|FOREIGN|UNIQUE|CONSTRAINT|CHECK|FULLTEXT|SPATIAL)\b/i;

/** `VARCHAR(32) UNIQUE NOT NULL` -> `VARCHAR(32)`; `ENUM('a', 'b') DEFAULT 'a'` -> `ENUM('a', 'b')`. */
function declaredType(rest: string): string {
  const m = /^([A-Za-z]+)/.exec(rest);
  if (!m) return '';
  let type = m[1]!.toUpperCase();
  let i = type.length;
  while (rest[i] === ' ') i++;
  if (rest[i] === '(') {
    let depth = 0;
    let quote: string | null = null;
    const start = i;
    for (; i < rest.length; i++) {
      const c = rest[i]!;
      if (quote) {
        if (c === quote) quote = null;
        continue;
      }
      if (c === "'") quote = c;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
    }
    type += rest.slice(start, i + 1);
  }
  return type;
}

/** Parses SQL text (or markdown with ```sql blocks) for CREATE TABLE / VIEW / PROCEDURE. */
export function parseSeedSchema(text: string): SeedSchema {
  const blocks = [...text.matchAll(/```sql\s*\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const sql = blocks.length > 0 ? blocks.join('\n;\n') : text;
  const tables = new Map<string, string[]>();
  const columnTypes = new Map<string, Map<string, string>>();
  const views: string[] = [];
  const procedures: string[] = [];

  for (const raw of splitSqlStatements(sql)) {
    const stmt = stripSqlComments(raw).trim();
    const view = /^CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+`?(\w+)`?/i.exec(stmt);
    if (view) {
      views.push(view[1]!);
      continue;
    }
    const proc = /^CREATE\s+(?:OR\s+REPLACE\s+)?PROCEDURE\s+`?(\w+)`?/i.exec(stmt);
    if (proc) {
      procedures.push(proc[1]!);
      continue;
    }
    const table = /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?\s*\(/i.exec(stmt);
    if (!table) continue;
    const name = table[1]!;
    // Body: from the opening parenthesis to its matching close.
    const open = table[0].length - 1;
    let depth = 0;
    let close = -1;
    let quote: string | null = null;
    for (let i = open; i < stmt.length; i++) {
      const c = stmt[i]!;
      if (quote) {
        if (c === quote) quote = null;
        continue;
      }
      if (c === "'" || c === '"' || c === '`') quote = c;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        close = i;
        break;
      }
    }
    if (close < 0) throw new Error(`cannot find the end of CREATE TABLE ${name}`);
    const columns: string[] = [];
    const types = new Map<string, string>();
    for (const item of splitTopLevel(stmt.slice(open + 1, close))) {
      if (NOT_A_COLUMN.test(item)) continue;
      const m = /^`?(\w+)`?\s+([\s\S]*)$/.exec(item);
      if (!m) continue;
      columns.push(m[1]!);
      types.set(m[1]!, declaredType(m[2]!));
    }
    tables.set(name, columns);
    columnTypes.set(name, types);
  }
  return { tables, columnTypes, views, procedures };
}

let cached: SeedSchema | undefined;

/** The seed schema, read from {@link seedFilePath} (parsed once). */
export function loadSeedSchema(): SeedSchema {
  cached ??= parseSeedSchema(readFileSync(seedFilePath(), 'utf8'));
  return cached;
}

/**
 * docs/design.md "Where each table lives". Reference tables are on every node (global and every
 * shard); 'reference' here means both.
 */
export const SEED_TABLE_TIER: Readonly<Record<string, Tier>> = {
  accounts: 'global',
  account_security: 'global',
  account_sessions: 'global',
  account_punishments: 'global',
  organizations: 'global',
  crews: 'global',
  organization_members: 'global',
  crew_members: 'global',
  server_economy: 'global', // the cluster roll-up; every shard also has its own (same columns)
  item_templates: 'reference',
  mission_templates: 'reference',
  districts: 'reference',
  characters: 'shard',
  character_statistics: 'shard',
  character_abilities: 'shard',
  character_faction_standings: 'shard',
  character_inventory: 'shard',
  character_equipment: 'shard',
  item_modifications: 'shard',
  character_missions: 'shard',
  mission_objective_progress: 'shard',
  mission_history: 'shard',
  pvp_statistics: 'shard',
  character_relationships: 'shard',
  world_objects: 'shard',
  hardlines: 'shard',
  world_events: 'shard',
  vendors: 'shard',
  vendor_inventory: 'shard',
  trade_sessions: 'shard',
  transaction_history: 'shard',
  combat_encounters: 'shard',
  interlock_encounters: 'shard',
  interlock_rounds: 'shard',
  system_logs: 'shard',
  player_action_logs: 'shard',
  chat_logs: 'shard',
  server_metrics: 'shard',
};
