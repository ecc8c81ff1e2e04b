/**
 * The migrator: statement splitting (unit), and migrateNode against a real MariaDB server
 * (a throwaway sandbox) — idempotence, drift refusal, new files, failures, concurrency.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions } from 'mysql2';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationError } from '../src/errors.js';
import { listMigrationFiles, migrateNode, splitSqlStatements, SQL_DIR } from '../src/migrate/index.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { repoRoot } from './support/seed-schema.js';

describe('splitSqlStatements', () => {
  it('splits on semicolons, trims, drops empty statements and the trailing delimiter', () => {
    expect(splitSqlStatements('SELECT 1;\n\n  SELECT 2 ;;\nSELECT 3')).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    expect(splitSqlStatements('')).toEqual([]);
    expect(splitSqlStatements(' ;\n; ')).toEqual([]);
  });

  it('ignores semicolons inside quotes, including doubled and backslash-escaped quotes', () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s; fine', 'back\\'slash;');",
      'SELECT `weird;name` FROM `t``;x`;',
      "SELECT 'x' ;",
    ].join('\n');
    expect(splitSqlStatements(sql)).toEqual([
      "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s; fine', 'back\\'slash;')",
      'SELECT `weird;name` FROM `t``;x`',
      "SELECT 'x'",
    ]);
  });

  it('ignores semicolons inside comments and drops comments before a statement', () => {
    const sql = [
      '-- leading comment; not a statement',
      '# hash comment; also not',
      '/* block; comment */',
      'SELECT 1 -- trailing; comment',
      ', 2 /* inner; */ , 3;',
      '-- only a comment at the end;',
    ].join('\n');
    expect(splitSqlStatements(sql)).toEqual(['SELECT 1 -- trailing; comment\n, 2 /* inner; */ , 3']);
    // "--" not followed by whitespace is not a comment (it is minus minus).
    expect(splitSqlStatements('SELECT 5--3;SELECT 1')).toEqual(['SELECT 5--3', 'SELECT 1']);
    // Executable comments are statement text.
    expect(splitSqlStatements('/*!40101 SET NAMES utf8mb4 */;')).toEqual(['/*!40101 SET NAMES utf8mb4 */']);
  });

  it('honours DELIMITER blocks like the mariadb client', () => {
    const sql = `
CREATE TABLE t (a INT);
DELIMITER //
CREATE PROCEDURE p()
BEGIN
    -- a comment; inside the body
    SELECT 'x;y';
    INSERT INTO t VALUES (1);
END //

CREATE PROCEDURE q() BEGIN SELECT 2; END//
DELIMITER ;
SELECT 3;
delimiter $$
CREATE FUNCTION f() RETURNS INT RETURN 1$$
DELIMITER ;
SELECT 4`;
    const out = splitSqlStatements(sql);
    expect(out).toHaveLength(6);
    expect(out[0]).toBe('CREATE TABLE t (a INT)');
    expect(out[1]).toMatch(/^CREATE PROCEDURE p\(\)\nBEGIN\n/);
    expect(out[1]).toContain("SELECT 'x;y';\n    INSERT INTO t VALUES (1);\nEND");
    expect(out[1]!.endsWith('END')).toBe(true);
    expect(out[2]).toBe('CREATE PROCEDURE q() BEGIN SELECT 2; END');
    expect(out[3]).toBe('SELECT 3');
    expect(out[4]).toBe('CREATE FUNCTION f() RETURNS INT RETURN 1');
    expect(out[5]).toBe('SELECT 4');
  });

  it('splits the shipped migration files into whole statements', async () => {
    // The first shard file is the seed's schema: tables, seed rows, procedures and views only.
    const shard = (await listMigrationFiles('shard')).filter((f) => f.name === '001_shard.sql');
    const statements = shard.flatMap((f) => splitSqlStatements(f.sql));
    for (const st of statements) expect(st).toMatch(/^(CREATE|INSERT)\b/);
    expect(statements.filter((st) => /^CREATE OR REPLACE PROCEDURE/.test(st))).toHaveLength(4);
    expect(statements.filter((st) => /^CREATE OR REPLACE VIEW/.test(st))).toHaveLength(2);
  });
});

/** The shipped migration files of `tiers`, in the order the migrator applies them (`tier/name`). */
async function shipped(...tiers: Array<'global' | 'reference' | 'shard'>): Promise<string[]> {
  const files = await Promise.all(tiers.map((t) => listMigrationFiles(t)));
  return files.flat().map((f) => `${f.tier}/${f.name}`);
}

describe('listMigrationFiles', () => {
  it('reads sql/<tier>/*.sql from the repo, sorted, with sha256 hashes', async () => {
    expect(SQL_DIR).toBe(path.join(repoRoot, 'sql'));
    for (const tier of ['global', 'reference', 'shard'] as const) {
      const files = await listMigrationFiles(tier);
      expect(files.length).toBeGreaterThan(0);
      expect(files.map((f) => f.name)).toEqual([...files.map((f) => f.name)].sort());
      for (const f of files) {
        expect(f.tier).toBe(tier);
        const bytes = await readFile(path.join(SQL_DIR, tier, f.name));
        expect(f.hash).toBe(createHash('sha256').update(bytes).digest('hex'));
      }
    }
    expect(await listMigrationFiles('shard', path.join(os.tmpdir(), 'mxo-no-such-dir'))).toEqual([]);
  });
});

describe('migrateNode (real MariaDB)', () => {
  let sb: Sandbox;
  let connection: ConnectionOptions;
  let admin: mysql.Connection;
  let label: string;
  const scratch: string[] = [];
  const tmpDirs: string[] = [];

  const newDb = (): string => {
    const name = `mxo_t_${randomBytes(4).toString('hex')}`;
    scratch.push(name);
    return name;
  };
  const copySqlDir = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mxo-sql-'));
    tmpDirs.push(dir);
    await cp(SQL_DIR, dir, { recursive: true });
    return dir;
  };
  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const [rows] = await admin.query(sql, params);
    return rows as T[];
  };
  /** A fingerprint of a database's schema, from information_schema. */
  const schemaFingerprint = async (db: string) => ({
    tables: await q(`SELECT TABLE_NAME, TABLE_TYPE, CREATE_OPTIONS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1`, [db]),
    columns: await q(
      `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, 3`,
      [db],
    ),
    constraints: await q(
      `SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? ORDER BY 1, 2`,
      [db],
    ),
    partitions: await q(`SELECT TABLE_NAME, PARTITION_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? ORDER BY 1, 2`, [db]),
    routines: await q(
      `SELECT ROUTINE_NAME, ROUTINE_DEFINITION, LAST_ALTERED FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1`,
      [db],
    ),
    migrations: await q(`SELECT tier, file_name, content_hash, applied_at FROM \`${db}\`.schema_migrations ORDER BY 1, 2`),
    sequences: await q(`SELECT * FROM \`${db}\`.id_sequences ORDER BY 1`).catch(() => []),
  });

  beforeAll(async () => {
    sb = await startSandbox({ shards: 1, replicasPerShard: 0 });
    const u = new URL(sb.config.shards[0]!.primary);
    connection = { host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), password: u.password || undefined };
    label = `shard alpha primary ${u.hostname}:${u.port}`;
    admin = await mysql.createConnection(connection);
  });

  afterAll(async () => {
    for (const db of scratch) await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
    await admin?.end();
    await sb?.stop();
    for (const dir of tmpDirs) await rm(dir, { recursive: true, force: true });
  });

  it('creates the database, applies reference before the other tier, and a second run changes nothing', async () => {
    const db = newDb();
    const files = [...(await listMigrationFiles('reference')), ...(await listMigrationFiles('shard'))].map((f) => `${f.tier}/${f.name}`);
    // Tiers given in the "wrong" order: reference must still go first (shard tables have FKs to it).
    const first = await migrateNode({ connection, database: db, tiers: ['shard', 'reference'], label });
    expect(first).toEqual({ applied: files, skipped: [] });
    expect(first.applied[0]).toMatch(/^reference\//);

    const before = await schemaFingerprint(db);
    expect(before.migrations).toHaveLength(files.length);
    expect(before.tables.length).toBeGreaterThan(30);

    const second = await migrateNode({ connection, database: db, tiers: ['reference', 'shard'], label });
    expect(second).toEqual({ applied: [], skipped: files });
    expect(await schemaFingerprint(db)).toEqual(before);
  });

  it('global + reference: applies and records both tiers, and is idempotent too', async () => {
    const db = newDb();
    const r1 = await migrateNode({ connection, database: db, tiers: ['global', 'reference'], label: 'global primary test' });
    expect(r1.applied).toEqual(await shipped('reference', 'global'));
    const before = await schemaFingerprint(db);
    expect(before.sequences.map((row) => (row as { sequence_name: string }).sequence_name)).toEqual(
      expect.arrayContaining(['item_id', 'trade_id']),
    );
    const r2 = await migrateNode({ connection, database: db, tiers: ['global', 'reference'], label: 'global primary test' });
    expect(r2.applied).toEqual([]);
    expect(await schemaFingerprint(db)).toEqual(before);
  });

  it('refuses a changed applied file with MIGRATION_DRIFT naming the file and node, and applies nothing', async () => {
    const db = newDb();
    const dir = await copySqlDir();
    await migrateNode({ connection, database: db, tiers: ['reference', 'shard'], label, sqlDir: dir });
    const before = await schemaFingerprint(db);

    await appendFile(path.join(dir, 'shard', '001_shard.sql'), '\n-- an innocent-looking edit\n');
    // A new file that must NOT be applied while another file has drifted.
    await writeFile(path.join(dir, 'shard', '002_new.sql'), 'CREATE TABLE drift_probe (id INT PRIMARY KEY);\n');

    const err = await migrateNode({ connection, database: db, tiers: ['reference', 'shard'], label, sqlDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    const me = err as MigrationError;
    expect(me.code).toBe('MIGRATION_DRIFT');
    expect(me.file).toBe('shard/001_shard.sql');
    expect(me.node).toBe(label);
    expect(me.message).toContain('shard/001_shard.sql');
    expect(me.message).toContain(label);
    const recorded = before.migrations.find((m) => m.file_name === '001_shard.sql')!.content_hash as string;
    expect(me.message).toContain(recorded);
    const changed = (await listMigrationFiles('shard', dir)).find((f) => f.name === '001_shard.sql')!.hash;
    expect(me.message).toContain(changed);
    expect(await schemaFingerprint(db)).toEqual(before);
  });

  it('applies a file added later, and only that file', async () => {
    const db = newDb();
    const dir = await copySqlDir();
    await migrateNode({ connection, database: db, tiers: ['reference', 'shard'], label, sqlDir: dir });
    await writeFile(
      path.join(dir, 'shard', '002_add_probe.sql'),
      `-- a later change
CREATE TABLE added_later (id INT PRIMARY KEY, note VARCHAR(20) DEFAULT 'a;b');
ALTER TABLE characters ADD COLUMN probe_flag TINYINT NOT NULL DEFAULT 0;
DELIMITER //
CREATE PROCEDURE probe_proc() BEGIN SELECT 1; SELECT 2; END //
DELIMITER ;
`,
    );
    const r = await migrateNode({ connection, database: db, tiers: ['reference', 'shard'], label, sqlDir: dir });
    expect(r.applied).toEqual(['shard/002_add_probe.sql']);
    expect(r.skipped).toEqual(await shipped('reference', 'shard'));
    expect(
      await q('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db, 'added_later']),
    ).toEqual([{ n: 1 }]);
    expect(
      await q('SELECT COUNT(*) AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?', [db, 'probe_proc']),
    ).toEqual([{ n: 1 }]);
    expect((await q(`SELECT file_name FROM \`${db}\`.schema_migrations WHERE tier = 'shard' ORDER BY 1`)).map((r) => r.file_name)).toEqual(
      [...(await shipped('shard')).map((f) => f.slice('shard/'.length)), '002_add_probe.sql'].sort(),
    );
  });

  it('a failing statement throws MIGRATION_FAILED naming file, node and statement, and records nothing', async () => {
    const db = newDb();
    const dir = await copySqlDir();
    await migrateNode({ connection, database: db, tiers: ['reference'], label, sqlDir: dir });
    await writeFile(
      path.join(dir, 'reference', '002_broken.sql'),
      'CREATE TABLE ok_one (id INT PRIMARY KEY);\nCREATE TABLE broken (id INT PRIMARY KEY,\n  oops INT,);\n',
    );
    const err = (await migrateNode({ connection, database: db, tiers: ['reference'], label, sqlDir: dir }).catch(
      (e: unknown) => e,
    )) as MigrationError;
    expect(err).toBeInstanceOf(MigrationError);
    expect(err.code).toBe('MIGRATION_FAILED');
    expect(err.file).toBe('reference/002_broken.sql');
    expect(err.node).toBe(label);
    expect(err.message).toContain('reference/002_broken.sql');
    expect(err.message).toContain(label);
    expect(err.message).toContain('CREATE TABLE broken (id INT PRIMARY KEY,');
    expect(err.cause).toMatchObject({ errno: 1064 }); // the driver's syntax error
    expect((await q(`SELECT file_name FROM \`${db}\`.schema_migrations ORDER BY 1`)).map((r) => r.file_name)).toEqual(
      (await shipped('reference')).map((f) => f.slice('reference/'.length)),
    );
  });

  it('two concurrent migrators on one database both succeed and apply each file once', async () => {
    const db = newDb();
    const expected = [...(await listMigrationFiles('reference')), ...(await listMigrationFiles('shard'))].map((f) => `${f.tier}/${f.name}`);
    const [a, b] = await Promise.all([
      migrateNode({ connection, database: db, tiers: ['reference', 'shard'], label: `${label} (a)` }),
      migrateNode({ connection, database: db, tiers: ['reference', 'shard'], label: `${label} (b)` }),
    ]);
    expect([...a.applied, ...b.applied].sort()).toEqual([...expected].sort());
    expect([...a.skipped, ...b.skipped].sort()).toEqual([...expected].sort());
    expect(await q(`SELECT COUNT(*) AS n FROM \`${db}\`.schema_migrations`)).toEqual([{ n: expected.length }]);
  });

  it('rejects database names that are not plain identifiers before connecting', async () => {
    for (const bad of ['', 'a-b', 'x`; DROP DATABASE mysql; --', 'a b', 'x'.repeat(65)]) {
      await expect(migrateNode({ connection, database: bad, tiers: ['reference'], label })).rejects.toThrow(/invalid database name/);
    }
  });

  it('a node that cannot be reached fails with MIGRATION_FAILED naming it', async () => {
    const err = (await migrateNode({
      connection: { host: '127.0.0.1', port: 1, user: 'root', connectTimeout: 2000 },
      database: 'mxo_unreachable',
      tiers: ['reference'],
      label: 'shard nowhere primary 127.0.0.1:1',
    }).catch((e: unknown) => e)) as MigrationError;
    expect(err).toBeInstanceOf(MigrationError);
    expect(err.code).toBe('MIGRATION_FAILED');
    expect(err.message).toContain('shard nowhere primary 127.0.0.1:1');
  });
});
