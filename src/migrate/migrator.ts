import type { ConnectionOptions } from 'mysql2';
import mysql from 'mysql2/promise';
import { MigrationError } from '../errors.js';
import { listMigrationFiles, TIER_ORDER, type MigrationFile, type Tier } from './migration-files.js';
import { splitSqlStatements } from './split-sql.js';

/** Options of {@link migrateNode}. */
export interface MigrateNodeOptions {
  /** Where the node is: host, port, user, password (any `database` here is ignored). */
  connection: ConnectionOptions;
  /** Database to create if missing and migrate, e.g. `mxo_global` or `mxo_shard`. */
  database: string;
  /**
   * Tiers to apply. They are always applied in the order reference, global, shard, whatever
   * the order given here, because global and shard tables have foreign keys to reference ones.
   */
  tiers: Tier[];
  /** Names the node in errors, e.g. `shard alpha primary 127.0.0.1:3307`. */
  label: string;
  /** Directory holding `global/`, `reference/`, `shard/` (default: the package's `sql/`). */
  sqlDir?: string;
}

/** What {@link migrateNode} did, as `tier/file` labels in apply order. */
export interface MigrateNodeResult {
  applied: string[];
  skipped: string[];
}

/** Name of the server-wide advisory lock that serialises migrators on one server. */
export const MIGRATE_LOCK_NAME = 'mxo_migrate';
const LOCK_TIMEOUT_SECONDS = 60;

/**
 * Session SQL mode the migrations are written for (MariaDB 10.11's default). Set explicitly so a
 * server configured differently (e.g. ANSI_QUOTES, no strict mode) neither misparses the files nor
 * creates procedures that run with a laxer mode (a routine keeps the sql_mode it was created in).
 */
const MIGRATION_SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION';

const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
    tier VARCHAR(16) NOT NULL,
    file_name VARCHAR(255) NOT NULL,
    content_hash CHAR(64) NOT NULL,
    applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (tier, file_name)
)`;

const IDENTIFIER = /^[A-Za-z0-9_]+$/;

/** Backquotes a database name after checking it is a plain identifier. */
export function quoteDatabaseName(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 64 || !IDENTIFIER.test(name)) {
    throw new Error(`invalid database name ${JSON.stringify(name)}: use 1-64 characters of A-Z, a-z, 0-9, _`);
  }
  return `\`${name}\``;
}

/** First non-blank line of a statement, for error messages. */
function firstLine(statement: string): string {
  const line = statement.split(/\r?\n/).find((l) => l.trim().length > 0) ?? '';
  const trimmed = line.trim();
  return trimmed.length > 200 ? `${trimmed.slice(0, 200)}...` : trimmed;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Brings one node (a global or shard primary) up to date: creates `database` if missing, then
 * applies, in order, every migration file of `tiers` not yet recorded in `schema_migrations`.
 *
 * - Concurrent migrators on one server are serialised with `GET_LOCK('mxo_migrate', 60)`.
 * - A file already applied with the same content hash is skipped.
 * - A file already applied whose content changed since is refused with
 *   `MigrationError('MIGRATION_DRIFT')` before anything is applied: applied migrations are
 *   immutable; a change is a new numbered file.
 * - Statements run one by one (DDL, text protocol); a failing statement throws
 *   `MigrationError('MIGRATION_FAILED')` naming the file, the node and the statement, with the
 *   driver error as `cause`. A file is recorded only after all its statements succeeded (DDL is
 *   not transactional in MariaDB; the files use IF NOT EXISTS / OR REPLACE so a fixed file can be
 *   re-run over a half-applied one).
 */
export async function migrateNode(opts: MigrateNodeOptions): Promise<MigrateNodeResult> {
  const { label } = opts;
  const quotedDb = quoteDatabaseName(opts.database);
  const tiers = TIER_ORDER.filter((t) => opts.tiers.includes(t));
  for (const t of opts.tiers) {
    if (!TIER_ORDER.includes(t)) throw new Error(`unknown migration tier "${String(t)}"`);
  }

  const files: MigrationFile[] = [];
  for (const tier of tiers) files.push(...(await listMigrationFiles(tier, opts.sqlDir)));

  const { database: _ignored, ...connectionOptions } = opts.connection;
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({ ...connectionOptions, multipleStatements: false });
  } catch (err) {
    throw new MigrationError('MIGRATION_FAILED', '', label, `cannot connect to ${label} to migrate: ${messageOf(err)}`, {
      cause: err,
    });
  }

  let locked = false;
  /** Runs one setup query; failures become MIGRATION_FAILED naming the node. */
  const setup = async (sql: string, params?: unknown[]): Promise<unknown> => {
    try {
      const [rows] = await conn.query(sql, params);
      return rows;
    } catch (err) {
      throw new MigrationError('MIGRATION_FAILED', '', label, `migration setup failed on ${label} (${firstLine(sql)}): ${messageOf(err)}`, {
        cause: err,
      });
    }
  };

  try {
    await setup('SET SESSION sql_mode = ?', [MIGRATION_SQL_MODE]);
    await setup('SET SESSION foreign_key_checks = 1');
    await setup(`CREATE DATABASE IF NOT EXISTS ${quotedDb} CHARACTER SET utf8mb4`);
    await setup(`USE ${quotedDb}`);

    const lockRows = (await setup('SELECT GET_LOCK(?, ?) AS got', [MIGRATE_LOCK_NAME, LOCK_TIMEOUT_SECONDS])) as Array<{
      got: number | null;
    }>;
    if (Number(lockRows[0]?.got) !== 1) {
      throw new MigrationError(
        'MIGRATION_FAILED',
        '',
        label,
        `could not get the migration lock '${MIGRATE_LOCK_NAME}' on ${label} within ${LOCK_TIMEOUT_SECONDS} s (another migrator is running)`,
      );
    }
    locked = true;

    await setup(SCHEMA_MIGRATIONS_DDL);
    const recordedRows = (await setup('SELECT tier, file_name, content_hash FROM schema_migrations')) as Array<{
      tier: string;
      file_name: string;
      content_hash: string;
    }>;
    const recorded = new Map<string, string>();
    for (const r of recordedRows) recorded.set(`${r.tier}/${r.file_name}`, r.content_hash);

    // Refuse drift before applying anything.
    for (const f of files) {
      const key = `${f.tier}/${f.name}`;
      const applied = recorded.get(key);
      if (applied !== undefined && applied !== f.hash) {
        throw new MigrationError(
          'MIGRATION_DRIFT',
          key,
          label,
          `migration ${key} was already applied on ${label} with content hash ${applied}, ` +
            `but the file now has hash ${f.hash}; applied migrations must not change (add a new numbered file instead)`,
        );
      }
    }

    const result: MigrateNodeResult = { applied: [], skipped: [] };
    for (const f of files) {
      const key = `${f.tier}/${f.name}`;
      if (recorded.has(key)) {
        result.skipped.push(key);
        continue;
      }
      let statements: string[];
      try {
        statements = splitSqlStatements(f.sql);
      } catch (err) {
        throw new MigrationError('MIGRATION_FAILED', key, label, `migration ${key} cannot be parsed: ${messageOf(err)}`, {
          cause: err,
        });
      }
      for (const [index, statement] of statements.entries()) {
        try {
          await conn.query(statement);
        } catch (err) {
          throw new MigrationError(
            'MIGRATION_FAILED',
            key,
            label,
            `migration ${key} failed on ${label} at statement ${index + 1} of ${statements.length} ` +
              `(${firstLine(statement)}): ${messageOf(err)}`,
            { cause: err },
          );
        }
      }
      await setup('INSERT INTO schema_migrations (tier, file_name, content_hash) VALUES (?, ?, ?)', [f.tier, f.name, f.hash]);
      result.applied.push(key);
    }
    return result;
  } finally {
    if (locked) {
      try {
        await conn.query('SELECT RELEASE_LOCK(?)', [MIGRATE_LOCK_NAME]);
      } catch {
        // The lock dies with the connection anyway.
      }
    }
    await conn.end().catch(() => conn.destroy());
  }
}
