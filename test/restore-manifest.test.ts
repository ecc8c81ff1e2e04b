import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../src/config/cluster-config.js';
import { restoreCluster } from '../src/ops/restore.js';
import { useTempDirs } from './support/temp-dirs.js';

/**
 * Restore treats its manifest and dumps as input (issue 23): file names must be the tier's own
 * dump in the manifest's directory, each dump must match the SHA-256 the manifest records, and a
 * dump holding a client command (`\!` runs a shell in the `mariadb` client) is refused. Every
 * refusal comes before any node is touched: the cluster below does not exist (port 1), so a
 * check that let the restore go on would fail with a connection error instead.
 */
const tempDir = useTempDirs();
const node = (database: string) => ({ host: '127.0.0.1', port: 1, user: 'nobody', password: undefined, database });
const config = { global: { primary: node('mxo_global'), replicas: [] }, shards: [] } as unknown as ClusterConfig;
const STAMP = '20261207_040000';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function backupDir(dump: string, tier: Record<string, unknown> = {}): Promise<string> {
  const dir = tempDir('mxo-restore-');
  const gz = gzipSync(Buffer.from(dump));
  const file = `mxo_global_${STAMP}.sql.gz`;
  await writeFile(path.join(dir, file), gz);
  const manifest = {
    format: 1,
    createdAt: new Date().toISOString(),
    tiers: [
      {
        tier: 'global',
        source: 'global-primary',
        file,
        bytes: gz.length,
        sha256: sha(gz),
        gtidPosition: '',
        database: 'mxo_global',
        districts: [],
        checksums: {},
        ...tier,
      },
    ],
  };
  await writeFile(path.join(dir, `mxo_manifest_${STAMP}.json`), JSON.stringify(manifest));
  return dir;
}

const refused = (from: string, options: { allowUnhashed?: boolean } = {}) =>
  restoreCluster(config, { from, ...options }).catch((e: unknown) => e);

describe('restore checks its manifest and dumps before touching a node', () => {
  it("refuses file names with a path, `..` or not the tier's dump", async () => {
    for (const file of [
      '../../etc/passwd',
      `../mxo_global_${STAMP}.sql.gz`,
      `sub/mxo_global_${STAMP}.sql.gz`,
      `mxo_alpha_${STAMP}.sql.gz`,
      '/etc/shadow',
    ]) {
      const error = await refused(await backupDir('SELECT 1;\n', { file }));
      expect(error, file).toMatchObject({ code: 'RESTORE_REFUSED', message: expect.stringContaining('tiers.0.file') });
    }
  });

  it('refuses a dump whose SHA-256 differs from the manifest, or that has none unless allowed', async () => {
    const tampered = await refused(await backupDir('SELECT 1;\n', { sha256: sha(Buffer.from('other')) }));
    expect(tampered).toMatchObject({ code: 'RESTORE_REFUSED', message: expect.stringContaining('does not match the SHA-256') });
    const unhashed = await refused(await backupDir('SELECT 1;\n', { sha256: undefined }));
    expect(unhashed).toMatchObject({ code: 'RESTORE_REFUSED', message: expect.stringContaining('records no SHA-256') });
    // Allowed: the checks pass and the restore goes on to the (missing) node.
    const allowed = await refused(await backupDir('SELECT 1;\n', { sha256: undefined }), { allowUnhashed: true });
    expect(allowed).not.toMatchObject({ code: 'RESTORE_REFUSED' });
  });

  it('refuses a dump with a client command (\\! runs a shell); nothing runs', async () => {
    const dir = tempDir('mxo-restore-');
    const marker = path.join(dir, 'pwned');
    for (const line of [`\\! touch ${marker}`, `  \\. /etc/passwd`, `system touch ${marker}`]) {
      const error = await refused(await backupDir(`-- MariaDB dump\nCREATE TABLE t (a INT);\n${line}\nINSERT INTO t VALUES (1);\n`));
      expect(error, line).toMatchObject({
        code: 'RESTORE_REFUSED',
        message: expect.stringContaining('line 3 starts with a client command'),
      });
    }
    expect(existsSync(marker)).toBe(false);
  });
});
