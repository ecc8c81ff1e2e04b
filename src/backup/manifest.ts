import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MxoError } from '../errors.js';
import type { TableChecksum } from './table-checksums.js';

/** One tier of a backup as recorded in its manifest. */
export interface ManifestTier {
  /** `global` or a shard name. */
  tier: string;
  /** The node dumped: `alpha-replica-1`, or `alpha-primary` when no replica was healthy. */
  source: string;
  /** The dump's file name, in the manifest's directory. */
  file: string;
  bytes: number;
  /** SHA-256 (hex) of the dump file; a restore refuses a file that does not match. */
  sha256?: string;
  /** The tier primary's `@@gtid_binlog_pos` at the cut: the dump holds exactly this much. */
  gtidPosition: string;
  database: string;
  /** Districts the shard owned (empty for global): a restore needs the same placement. */
  districts: number[];
  /** Per table, at the cut (see table-checksums.ts): what a restore must reproduce. */
  checksums: Record<string, TableChecksum>;
}

/** `mxo_manifest_<stamp>.json`: one backup, every tier at the same cut. */
export interface BackupManifest {
  format: 1;
  createdAt: string;
  tiers: ManifestTier[];
}

export const MANIFEST_PATTERN = /^mxo_manifest_\d{8}_\d{6}\.json$/;
/** A tier's dump as `backupCluster` names it: `mxo_<tier>_<stamp>.sql.gz`, no path. */
export const DUMP_PATTERN = /^mxo_([a-z][a-z0-9_]{0,30})_\d{8}_\d{6}\.sql\.gz$/;

/** Reads a manifest file, or the newest manifest in a directory. */
export async function readManifest(from: string): Promise<{ manifest: BackupManifest; dir: string; file: string }> {
  let file = from;
  if (!from.endsWith('.json')) {
    const names = (await readdir(from).catch(() => [])).filter((n) => MANIFEST_PATTERN.test(n)).sort();
    if (names.length === 0) throw new MxoError('RESTORE_REFUSED', `no backup manifest (mxo_manifest_*.json) in ${from}`);
    file = path.join(from, names.at(-1)!);
  }
  const manifest = JSON.parse(await readFile(file, 'utf8')) as BackupManifest;
  if (manifest.format !== 1 || !Array.isArray(manifest.tiers)) throw new MxoError('RESTORE_REFUSED', `${file} is not a backup manifest`);
  // The manifest is input: a file name must be a dump of its own tier in the manifest's directory
  // (no separators, no `..`), and a recorded hash must look like one.
  for (const [i, t] of manifest.tiers.entries()) {
    const name = typeof t?.file === 'string' ? DUMP_PATTERN.exec(t.file) : null;
    if (!name || name[1] !== t.tier) {
      throw new MxoError(
        'RESTORE_REFUSED',
        `${file}: tiers.${i}.file is not a dump file name of tier ${String(t?.tier)} (mxo_<tier>_<stamp>.sql.gz)`,
      );
    }
    if (t.sha256 !== undefined && (typeof t.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256))) {
      throw new MxoError('RESTORE_REFUSED', `${file}: tiers.${i}.sha256 is not a SHA-256 hex digest`);
    }
  }
  return { manifest, dir: path.dirname(file), file };
}
