import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { ClusterConfig } from '../config/cluster-config.js';
import type { NodeAddress } from '../config/node-address.js';
import { MxoError } from '../errors.js';

export interface BackupOptions {
  /** Directory the dumps go to (created if missing). */
  outDir: string;
  /** Dumps older than this many days in `outDir` are deleted after a successful run (default 30). */
  keepDays?: number;
  /** The dump program (default `mariadb-dump`). */
  dumpCommand?: string;
}

export interface BackupFile {
  node: string;
  file: string;
  bytes: number;
}

/**
 * The seed's backup script, fixed: one consistent dump per tier (global, and every shard), taken
 * from a replica when the tier has one (so the primary is not loaded) and from the primary
 * otherwise, with routines, triggers and events, gzipped and verified. The password never
 * appears on a command line (the seed's script put it there, visible in `ps`, and hard-coded
 * it): it reaches mariadb-dump through an option file readable only by this user, deleted after.
 */
export async function backupCluster(config: ClusterConfig, options: BackupOptions): Promise<BackupFile[]> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '_');
  await mkdir(options.outDir, { recursive: true });
  const tiers: Array<{ name: string; node: NodeAddress }> = [
    { name: 'global', node: config.global.replicas[0] ?? config.global.primary },
    ...config.shards.map((s) => ({ name: s.name, node: s.replicas[0] ?? s.primary })),
  ];
  const files: BackupFile[] = [];
  for (const { name, node } of tiers) {
    const file = path.join(options.outDir, `mxo_${name}_${stamp}.sql.gz`);
    await dumpNode(node, file, options.dumpCommand ?? 'mariadb-dump');
    await verifyGzip(file);
    files.push({ node: name, file, bytes: (await stat(file)).size });
  }
  await pruneOld(options.outDir, options.keepDays ?? 30);
  return files;
}

async function dumpNode(node: NodeAddress, file: string, command: string): Promise<void> {
  const secrets = await mkdtemp(path.join(os.tmpdir(), 'mxo-backup-'));
  const optionFile = path.join(secrets, 'client.cnf');
  try {
    const lines = ['[client]', `host=${node.host}`, `port=${node.port}`, `user=${node.user}`];
    if (node.password !== undefined) lines.push(`password=${node.password}`);
    await writeFile(optionFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    await chmod(optionFile, 0o600);
    const child = spawn(
      command,
      [`--defaults-extra-file=${optionFile}`, '--single-transaction', '--routines', '--triggers', '--events', '--databases', node.database],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code ?? 1));
    });
    await pipeline(child.stdout, createGzip(), createWriteStream(file, { mode: 0o600 }));
    const code = await exited;
    if (code !== 0) throw new MxoError('BACKUP_FAILED', `${command} for ${node.host}:${node.port}/${node.database} exited ${code}: ${stderr.trim()}`);
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof MxoError) throw error;
    throw new MxoError('BACKUP_FAILED', `backup of ${node.host}:${node.port}/${node.database} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(secrets, { recursive: true, force: true });
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
    if (!/^mxo_.*\.sql\.gz$/.test(name)) continue;
    const file = path.join(dir, name);
    if ((await stat(file)).mtimeMs < cutoff) await rm(file, { force: true });
  }
}
