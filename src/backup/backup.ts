import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import mysql from 'mysql2/promise';
import type { ClusterConfig } from '../config/cluster-config.js';
import type { NodeAddress } from '../config/node-address.js';
import { MxoError, ValidationError } from '../errors.js';
import { holdConsistentCut } from './consistent-cut.js';
import { startDump } from './dump-tier.js';
import type { BackupManifest, ManifestTier } from './manifest.js';
import { checksumTables } from './table-checksums.js';
import { connectionOptions } from '../pool/connection-options.js';
import { sha256File } from './file-hash.js';

export interface BackupOptions {
  /** Directory the dumps go to (created if missing). */
  outDir: string;
  /** Backups older than this many days in `outDir` are deleted after a successful run (default 30, at least 1). */
  keepDays?: number;
  /** The dump program (default `mariadb-dump`). */
  dumpCommand?: string;
}

export interface BackupFile {
  /** The tier: `global` or a shard name. */
  node: string;
  file: string;
  bytes: number;
  /** The node dumped (`alpha-replica-1`, or the primary when no replica was healthy). */
  source: string;
  /** The tier primary's GTID position at the cut. */
  gtidPosition: string;
  /** The manifest written for the whole backup (same for every tier). */
  manifest: string;
  /** Why a replica was passed over for this tier, when one was. */
  warning?: string;
}

interface Plan {
  tier: string;
  primary: NodeAddress;
  source: NodeAddress;
  sourceName: string;
  districts: number[];
  warning?: string;
}

/**
 * A consistent cut of the whole cluster: every tier dumped as of one moment at which no
 * two-phase transaction was half committed (see consistent-cut.ts), each from a healthy replica
 * where there is one (threads running, within the lag limit, and caught up to the cut) and from
 * its primary otherwise. Writes a manifest with every tier's GTID position and table checksums
 * (what `restore` verifies against), gzips and verifies each dump, then prunes backups older
 * than `keepDays`. Credentials reach the client programs through a private option file.
 */
export async function backupCluster(config: ClusterConfig, options: BackupOptions): Promise<BackupFile[]> {
  try {
    return await backupOnce(config, options);
  } catch (error) {
    if (error instanceof MxoError) throw error;
    // Never the driver error itself: code and the server's message only.
    const e = error as { code?: string; sqlMessage?: string; message?: string };
    throw new MxoError('BACKUP_FAILED', `backup failed: ${e.code ?? 'error'}: ${e.sqlMessage ?? e.message}`, { cause: error });
  }
}

async function backupOnce(config: ClusterConfig, options: BackupOptions): Promise<BackupFile[]> {
  const keepDays = options.keepDays ?? 30;
  if (!Number.isInteger(keepDays) || keepDays < 1) {
    // Zero would delete the backup just taken (and every other one).
    throw new ValidationError('backup options', [{ field: 'keepDays', message: 'must be a whole number of days, at least 1' }]);
  }
  const now = new Date();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '_');
  await mkdir(options.outDir, { recursive: true });
  const tiers = [
    { tier: 'global', primary: config.global.primary, replicas: config.global.replicas, districts: [] as number[] },
    ...config.shards.map((s) => ({ tier: s.name, primary: s.primary, replicas: s.replicas, districts: s.districts })),
  ];
  const plans: Plan[] = await Promise.all(tiers.map((t) => planTier(t, config.replicas.maxLagMs)));
  const files = plans.map((p) => path.join(options.outDir, `mxo_${p.tier}_${stamp}.sql.gz`));
  const snapshots: mysql.Connection[] = [];
  const dumps: Array<Promise<void>> = [];
  const cut = await holdConsistentCut(plans.map((p) => ({ tier: p.tier, node: p.primary })));
  let checksums: Array<ManifestTier['checksums']>;
  try {
    try {
      for (const plan of plans) {
        if (plan.source !== plan.primary && !(await reaches(plan.source, cut.positions.get(plan.tier)!))) {
          plan.warning = `${plan.sourceName} did not reach the cut in time; dumped the primary`;
          plan.source = plan.primary;
          plan.sourceName = `${plan.tier}-primary`;
        }
      }
      // Our snapshot (for checksums) and the dump's, both begun while the cut holds.
      for (const [i, plan] of plans.entries()) {
        snapshots.push(await openSnapshot(plan.source));
        const dump = startDump(plan.source, files[i]!, options.dumpCommand ?? 'mariadb-dump');
        dumps.push(dump.done);
        await dump.snapshotTaken;
      }
    } finally {
      await cut.release();
    }
    checksums = await Promise.all(plans.map((p, i) => checksumTables(snapshots[i]!, p.source.database)));
    await Promise.all(dumps);
  } catch (error) {
    await Promise.allSettled(dumps);
    await Promise.all(files.map((f) => rm(f, { force: true })));
    throw error;
  } finally {
    await Promise.all(snapshots.map((c) => c.end().catch(() => c.destroy())));
  }
  const manifest: BackupManifest = { format: 1, createdAt: now.toISOString(), tiers: [] };
  for (const [i, plan] of plans.entries()) {
    await verifyGzip(files[i]!);
    manifest.tiers.push({
      tier: plan.tier,
      source: plan.sourceName,
      file: path.basename(files[i]!),
      bytes: (await stat(files[i]!)).size,
      sha256: await sha256File(files[i]!),
      gtidPosition: cut.positions.get(plan.tier)!,
      database: plan.source.database,
      districts: plan.districts,
      checksums: checksums[i]!,
    });
  }
  const manifestFile = path.join(options.outDir, `mxo_manifest_${stamp}.json`);
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await pruneOld(options.outDir, keepDays);
  return manifest.tiers.map((t, i) => ({
    node: t.tier,
    file: files[i]!,
    bytes: t.bytes,
    source: t.source,
    gtidPosition: t.gtidPosition,
    manifest: manifestFile,
    ...(plans[i]!.warning ? { warning: plans[i]!.warning } : {}),
  }));
}

/** The first healthy replica of a tier, or its primary (with the reason) when none is. */
async function planTier(
  t: { tier: string; primary: NodeAddress; replicas: NodeAddress[]; districts: number[] },
  maxLagMs: number,
): Promise<Plan> {
  const reasons: string[] = [];
  for (const [i, replica] of t.replicas.entries()) {
    const name = `${t.tier}-replica-${i + 1}`;
    const problem = await replicaProblem(replica, maxLagMs);
    if (!problem) return { tier: t.tier, primary: t.primary, source: replica, sourceName: name, districts: t.districts };
    reasons.push(`${name}: ${problem}`);
  }
  const plan: Plan = { tier: t.tier, primary: t.primary, source: t.primary, sourceName: `${t.tier}-primary`, districts: t.districts };
  if (reasons.length) plan.warning = `dumped the primary: ${reasons.join('; ')}`;
  return plan;
}

async function replicaProblem(node: NodeAddress, maxLagMs: number): Promise<string | undefined> {
  try {
    return await withConnection(node, async (c) => {
      const [[row]] = (await c.query('SHOW SLAVE STATUS')) as unknown as [[Record<string, unknown> | undefined]];
      if (!row) return 'not replicating';
      if (row.Slave_IO_Running !== 'Yes' || row.Slave_SQL_Running !== 'Yes') return 'replication threads stopped';
      const behind = row.Seconds_Behind_Master == null ? null : Number(row.Seconds_Behind_Master);
      if (behind === null || behind * 1000 > maxLagMs) return `lagging (${behind ?? '?'} s behind)`;
      return undefined;
    });
  } catch (error) {
    const e = error as { code?: string; sqlMessage?: string; message?: string };
    return `unreachable (${e.code ?? 'error'}: ${e.sqlMessage ?? e.message})`;
  }
}

/** True when the replica has applied the cut's position (the primary is held, so no more). */
async function reaches(node: NodeAddress, position: string): Promise<boolean> {
  return withConnection(node, async (c) => {
    const [[row]] = (await c.query('SELECT MASTER_GTID_WAIT(?, 10) AS r', [position])) as unknown as [[{ r: number | null }]];
    return row.r !== null && Number(row.r) === 0;
  }).catch(() => false);
}

async function openSnapshot(node: NodeAddress): Promise<mysql.Connection> {
  const c = await connect(node);
  try {
    await c.query("SET SESSION time_zone = '+00:00'");
    await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    return c;
  } catch (error) {
    c.destroy();
    throw error;
  }
}

function connect(node: NodeAddress): Promise<mysql.Connection> {
  return mysql.createConnection(connectionOptions(node, { database: node.database }));
}

async function withConnection<T>(node: NodeAddress, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await connect(node);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

/** Reads the whole file through gunzip: a truncated or corrupt dump fails here, not at restore. */
async function verifyGzip(file: string): Promise<void> {
  try {
    await pipeline(createReadStream(file), createGunzip(), new Writable({ write: (_chunk, _enc, done) => done() }));
  } catch (cause) {
    throw new MxoError('BACKUP_FAILED', `backup ${file} is corrupt`, { cause });
  }
}

async function pruneOld(dir: string, keepDays: number): Promise<void> {
  const cutoff = Date.now() - keepDays * 86_400_000;
  for (const name of await readdir(dir)) {
    if (!/^mxo_.*\.(sql\.gz|json)$/.test(name)) continue;
    const file = path.join(dir, name);
    if ((await stat(file)).mtimeMs < cutoff) await rm(file, { force: true });
  }
}
