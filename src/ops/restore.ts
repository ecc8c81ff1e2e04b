import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import mysql from 'mysql2/promise';
import { withClientProcess } from '../backup/client-process.js';
import { sha256File } from '../backup/file-hash.js';
import { readManifest, type ManifestTier } from '../backup/manifest.js';
import { checksumTables, compareChecksums } from '../backup/table-checksums.js';
import type { ClusterConfig } from '../config/cluster-config.js';
import { describeNode, type NodeAddress } from '../config/node-address.js';
import { MxoError } from '../errors.js';
import { quoteDatabaseName } from '../migrate/index.js';
import { restoreIdSequences, type SequenceReport } from './restore-sequences.js';
import { connectionOptions } from '../pool/connection-options.js';

export interface RestoreOptions {
  /** A backup directory (its newest manifest is used) or a `mxo_manifest_*.json` file. */
  from: string;
  /** The client program (default `mariadb`). */
  clientCommand?: string;
  /**
   * Restore dumps whose manifest records no SHA-256 (backups taken before hashes were recorded).
   * Default false: such a backup is refused.
   */
  allowUnhashed?: boolean;
}

/** What `db.restore()` did. */
export interface RestoreReport {
  manifest: string;
  tiers: Array<{ tier: string; node: string; tables: number; rows: number; gtidPosition: string }>;
  /** Each id sequence: the value restored, the highest id found, and the value it was set to. */
  sequences: SequenceReport[];
}

/**
 * Restores a backup (see backupCluster) into an empty cluster with the same tiers and district
 * placement: every tier's dump is loaded into its primary through the `mariadb` client (replicas
 * follow by replication), then every table's checksum is compared with the one the backup
 * recorded at its cut, and the id sequences on global are moved past the highest id restored in
 * any tier, so new ids never collide with restored rows. Refuses a cluster that holds tables.
 */
export async function restoreCluster(config: ClusterConfig, options: RestoreOptions): Promise<RestoreReport> {
  const { manifest, dir, file } = await readManifest(options.from);
  const targets = matchTiers(config, manifest.tiers);
  // Every dump is checked before any node is touched: its hash, and no client command in it.
  for (const { tier } of targets) await checkDump(path.join(dir, tier.file), tier.sha256, options.allowUnhashed ?? false);
  await Promise.all(targets.map(({ node }) => assertEmpty(node)));
  for (const { tier, node } of targets) await loadDump(node, path.join(dir, tier.file), options.clientCommand ?? 'mariadb');
  const report: RestoreReport = { manifest: file, tiers: [], sequences: [] };
  const mismatches: string[] = [];
  for (const { tier, node, name } of targets) {
    const actual = await withConnection(node, (c) => checksumTables(c, node.database));
    mismatches.push(...compareChecksums(tier.checksums, actual).map((m) => `${name}: ${m}`));
    const tables = Object.values(actual);
    report.tiers.push({
      tier: tier.tier,
      node: name,
      tables: tables.length,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      gtidPosition: tier.gtidPosition,
    });
  }
  if (mismatches.length) throw new MxoError('RESTORE_FAILED', `restored tables differ from the backup: ${mismatches.join('; ')}`);
  report.sequences = await withConnection(config.global.primary, (globalConn) =>
    restoreIdSequences(
      globalConn,
      targets.map((t) => t.node),
    ),
  );
  return report;
}

interface Target {
  tier: ManifestTier;
  node: NodeAddress;
  name: string;
}

/** Global to global, each shard to the shard of the same name owning the same districts. */
function matchTiers(config: ClusterConfig, tiers: ManifestTier[]): Target[] {
  const problems: string[] = [];
  const targets: Target[] = [];
  const shards = new Map(config.shards.map((s) => [s.name, s]));
  for (const tier of tiers) {
    if (tier.tier === 'global') {
      targets.push({ tier, node: config.global.primary, name: 'global-primary' });
      continue;
    }
    const shard = shards.get(tier.tier);
    if (!shard) {
      problems.push(`the backup has shard ${tier.tier}, the cluster does not`);
      continue;
    }
    const want = [...tier.districts].sort((a, b) => a - b).join(',');
    const have = [...shard.districts].sort((a, b) => a - b).join(',');
    if (want !== have) problems.push(`shard ${tier.tier} owns districts ${have}, the backup's owned ${want}`);
    targets.push({ tier, node: shard.primary, name: `${tier.tier}-primary` });
    shards.delete(tier.tier);
  }
  for (const name of shards.keys()) problems.push(`the cluster has shard ${name}, the backup does not`);
  if (!tiers.some((t) => t.tier === 'global')) problems.push('the backup has no global tier');
  if (problems.length) throw new MxoError('RESTORE_REFUSED', `the cluster does not match the backup: ${problems.join('; ')}`);
  return targets;
}

async function assertEmpty(node: NodeAddress): Promise<void> {
  const tables = await withConnection({ ...node, database: '' }, async (c) => {
    const [rows] = (await c.query('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [
      node.database,
    ])) as unknown as [Array<{ n: number }>];
    return Number(rows[0]?.n ?? 0);
  });
  if (tables > 0) {
    throw new MxoError('RESTORE_REFUSED', `${describeNode(node)} already holds ${tables} table(s); restore needs an empty cluster`);
  }
}

/** Loads one dump into `node.database` (whatever the source database was called). */
async function loadDump(node: NodeAddress, file: string, command: string): Promise<void> {
  await withConnection({ ...node, database: '' }, (c) =>
    c.query(`CREATE DATABASE IF NOT EXISTS ${quoteDatabaseName(node.database)} CHARACTER SET utf8mb4`),
  );
  // --binary-mode: the client parses no client command (`\!` runs a shell, `\.` reads a file)
  // except DELIMITER and \C, whatever the dump holds (checkDump refuses such lines as well).
  const { code, stderr } = await withClientProcess(node, command, ['--batch', '--binary-mode', node.database], async (child) => {
    await pipeline(createReadStream(file), createGunzip(), dropDatabaseStatements(), child.stdin!);
  }).catch((error: unknown) => {
    throw new MxoError('RESTORE_FAILED', `loading ${path.basename(file)} into ${describeNode(node)} failed: ${(error as Error).message}`, {
      cause: error,
    });
  });
  if (code !== 0)
    throw new MxoError('RESTORE_FAILED', `${command} loading ${path.basename(file)} into ${describeNode(node)} exited ${code}: ${stderr}`);
}

/**
 * Refuses a dump whose SHA-256 differs from the manifest's (or that has none, unless allowed), and
 * one with a line starting with a client command (`\` or `system`): mariadb-dump writes none.
 */
async function checkDump(file: string, sha256: string | undefined, allowUnhashed: boolean): Promise<void> {
  const name = path.basename(file);
  if (sha256 === undefined) {
    if (!allowUnhashed)
      throw new MxoError('RESTORE_REFUSED', `the manifest records no SHA-256 for ${name} (allowUnhashed to restore it anyway)`);
  } else {
    const actual = await sha256File(file).catch((error: unknown) => {
      throw new MxoError('RESTORE_REFUSED', `cannot read ${name}: ${(error as Error).message}`, { cause: error });
    });
    if (actual !== sha256) throw new MxoError('RESTORE_REFUSED', `${name} does not match the SHA-256 its manifest records`);
  }
  let rest = '';
  let lineNo = 0;
  const scan = (line: string) => {
    lineNo++;
    if (/^\s*(\\|system\s)/i.test(line)) {
      throw new MxoError('RESTORE_REFUSED', `${name} line ${lineNo} starts with a client command; refusing to load it`);
    }
  };
  await pipeline(
    createReadStream(file),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        try {
          const lines = (rest + chunk.toString('latin1')).split('\n');
          rest = lines.pop()!;
          lines.forEach(scan);
          done();
        } catch (error) {
          done(error as Error);
        }
      },
      final(done) {
        try {
          scan(rest);
          done();
        } catch (error) {
          done(error as Error);
        }
      },
    }),
  ).catch((error: unknown) => {
    if (error instanceof MxoError) throw error;
    throw new MxoError('RESTORE_REFUSED', `${name} is not a readable gzip dump: ${(error as Error).message}`, { cause: error });
  });
}

/** Drops the dump's `CREATE DATABASE` and `USE` lines: the target database may be named otherwise. */
function dropDatabaseStatements(): Transform {
  let rest = '';
  const keep = (line: string) => !/^(CREATE DATABASE |USE `)/.test(line);
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      const lines = (rest + chunk.toString('latin1')).split('\n');
      rest = lines.pop()!;
      next(
        null,
        Buffer.from(
          lines
            .filter(keep)
            .map((l) => `${l}\n`)
            .join(''),
          'latin1',
        ),
      );
    },
    flush(done) {
      done(null, keep(rest) ? Buffer.from(rest, 'latin1') : undefined);
    },
  });
}

async function withConnection<T>(node: NodeAddress, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({
    ...connectionOptions(node),
    ...(node.database ? { database: node.database } : {}),
  });
  try {
    await c.query("SET SESSION time_zone = '+00:00'");
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}
