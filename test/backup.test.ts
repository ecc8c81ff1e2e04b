import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError, openCluster, ValidationError } from '../src/index.js';
import { newGtrid, xidLiteral } from '../src/twopc/xid.js';
import { useTempDirs } from './support/temp-dirs.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
const PASSWORD = 'b4ckup-S3cret-pw';

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 1, as: 'root' });
  // A backup account with a password, created on each primary (replication copies it).
  for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
    const conn = await t.sql(node);
    await conn.query("CREATE USER 'mxo_backup'@'127.0.0.1' IDENTIFIED BY ?", [PASSWORD]);
    // The grants `mxo-data users` gives mxo_backup (src/ops/user-grants.ts), on every database.
    await conn.query("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, SLAVE MONITOR ON *.* TO 'mxo_backup'@'127.0.0.1'");
  }
  await t.db.waitForReplicas(10_000);
  const { accountId } = await t.db.accounts.register({ username: 'tank', email: 'tank@zion.example', password: 'operator-99' });
  await t.db.characters.create({ accountId, name: 'Dozer_Backup', archetype: 'martial_artist', gender: 'male', districtId: 5 });
  await t.db.waitForReplicas(10_000);
});
afterAll(async () => t?.stop());
const tempDir = useTempDirs();

/** The sandbox config with every node logging in as mxo_backup, its password from the environment. */
function backupConfig() {
  const as = (url: string) => url.replace('mysql://root@', 'mysql://mxo_backup@');
  const c = t.sandbox.config;
  return {
    global: { primary: as(c.global.primary), replicas: c.global.replicas.map(as) },
    shards: c.shards.map((s) => ({ ...s, primary: as(s.primary), replicas: s.replicas.map(as) })),
    recovery: { intervalMs: 0 },
  };
}

describe('backup', () => {
  it('dumps every tier from its replica, gzipped and verified, with the password never on a command line', async () => {
    const out = tempDir('mxo-backup-test-');
    // Wrap mariadb-dump to record the command line it was given.
    const argvLog = path.join(out, 'argv.log');
    const wrapper = path.join(out, 'dump.sh');
    // It logs its arguments and the port from the option file (never the password line).
    await writeFile(
      wrapper,
      `#!/bin/sh\necho "$@" >> '${argvLog}'\ngrep '^port=' "\${1#--defaults-extra-file=}" >> '${argvLog}'\nexec mariadb-dump "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    const old = path.join(out, 'mxo_alpha_20200101_000000.sql.gz');
    await writeFile(old, '');
    await utimes(old, new Date('2020-01-01'), new Date('2020-01-01'));

    const db = await openCluster(backupConfig(), { env: { MXO_DB_PASSWORD: PASSWORD } });
    try {
      const files = await db.backup({ outDir: out, dumpCommand: wrapper, keepDays: 30 });
      expect(files.map((f) => f.node)).toEqual(['global', 'alpha', 'beta']);
      const text = (node: string) => gunzipSync(readFileSync(files.find((f) => f.node === node)!.file)).toString();
      const [globalSql, betaSql] = [text('global'), text('beta')];
      expect(globalSql).toMatch(/CREATE TABLE `accounts`/);
      expect(globalSql).toMatch(/'tank'/);
      expect(betaSql).toMatch(/CREATE TABLE `characters`/);
      expect(betaSql).toMatch(/Dozer_Backup/);
      expect(betaSql).toMatch(/PROCEDURE `UpdateEconomyMetrics`/);
      const argv = await readFile(argvLog, 'utf8');
      expect(argv).not.toContain(PASSWORD);
      expect(argv).toContain('--defaults-extra-file=');
      // Global has no replica, so its primary; each shard from its replica, not its primary.
      const ports = [...argv.matchAll(/^port=(\d+)$/gm)].map((m) => Number(m[1]));
      expect(ports).toEqual(['global-primary', 'alpha-replica-1', 'beta-replica-1'].map((n) => t.sandbox.node(n).port));
      // Dumps past keepDays are pruned.
      expect(await readdir(out)).not.toContain('mxo_alpha_20200101_000000.sql.gz');
    } finally {
      await db.close();
    }
  });

  it('fails typed, leaving no partial file, when the dump cannot log in', async () => {
    const out = tempDir('mxo-backup-test-');
    const db = await openCluster(backupConfig(), { env: { MXO_DB_PASSWORD: 'wrong-password' } });
    try {
      const error = await db.backup({ outDir: out }).catch((e) => e);
      expect(error).toBeInstanceOf(MxoError);
      expect(error.code).toBe('BACKUP_FAILED');
      expect(error.message).not.toContain('wrong-password');
      expect((await readdir(out)).filter((f) => f.endsWith('.gz'))).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('refuses a retention of zero or less before dumping anything', async () => {
    const out = tempDir('mxo-backup-test-');
    for (const keepDays of [0, -1, 1.5]) {
      const error = await t.db.backup({ outDir: out, keepDays }).catch((e) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.fields).toEqual(['keepDays']);
    }
    expect(await readdir(out)).toEqual([]);
  });

  it('records every tier at one cut in a manifest, and waits while a two-phase branch is prepared', async () => {
    const out = tempDir('mxo-backup-test-');
    const owner = await t.sql('beta-primary');
    const xid = xidLiteral(newGtrid('global'), 'beta:1');
    await owner.query(`XA START ${xid}`);
    await owner.query("UPDATE characters SET money = money + 7 WHERE character_name = 'Dozer_Backup'");
    await owner.query(`XA END ${xid}`);
    await owner.query(`XA PREPARE ${xid}`);
    let finished = false;
    const running = t.db.backup({ outDir: out }).finally(() => (finished = true));
    running.catch(() => {});
    // While the branch is prepared no cut is taken (a dump would hold half a transaction).
    await new Promise((r) => setTimeout(r, 400));
    expect(finished).toBe(false);
    await owner.query(`XA COMMIT ${xid}`);
    const files = await running;
    const manifest = JSON.parse(await readFile(files[0]!.manifest, 'utf8'));
    const beta = manifest.tiers.find((x: { tier: string }) => x.tier === 'beta');
    const [[{ pos }]] = (await owner.query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
    expect(beta.gtidPosition).toBe(pos);
    expect(beta.source).toBe('beta-replica-1');
    expect(beta.checksums.characters.rows).toBe(1);
    expect(gunzipSync(readFileSync(path.join(out, beta.file))).toString()).toMatch(/Dozer_Backup/);
    // Each dump's SHA-256, for restore to check (issue 23).
    expect(beta.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(path.join(out, beta.file)))
        .digest('hex'),
    );
  });

  it('dumps the primary, saying why, when the replica is not healthy', async () => {
    const out = tempDir('mxo-backup-test-');
    const replica = await t.sql('alpha-replica-1');
    await replica.query('STOP SLAVE SQL_THREAD');
    try {
      const files = await t.db.backup({ outDir: out });
      const alpha = files.find((f) => f.node === 'alpha')!;
      expect(alpha.source).toBe('alpha-primary');
      expect(alpha.warning).toMatch(/alpha-replica-1: replication threads stopped/);
      expect(files.find((f) => f.node === 'beta')!.source).toBe('beta-replica-1');
    } finally {
      await replica.query('START SLAVE SQL_THREAD');
    }
  });
});
