import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
// `npm test` builds first; the CLI is tested as users run it, from dist/.
const CLI = path.resolve('dist/cli.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI and returns its exit code and output (never throws on a non-zero exit). */
async function cli(args: string[], timeout = 90_000): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { timeout });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('cli', () => {
  it('demo starts a sandbox, runs the scenario across both shards and stops everything', async () => {
    const { code, stdout } = await cli(['demo']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^database account: mxo_app$/m); // the library ran as the application account
    expect(stdout).toMatch(/-> shard alpha/);
    expect(stdout).toMatch(/-> shard beta/);
    expect(stdout).toMatch(/cross-shard, XA mxo:/);
    expect(stdout).toMatch(/template \d+\s+global-primary, alpha-primary, alpha-replica-1, beta-primary, beta-replica-1/);
    expect(stdout).toMatch(/shard beta -> alpha, same id/);
    expect(stdout).toMatch(/sandbox stopped/);
  });

  it('explains usage errors with exit code 2', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command/) });
    const noConfig = await cli(['migrate', '--config']);
    expect(noConfig.code).not.toBe(0);
    const badFlag = await cli(['sandbox', 'start', '--shards', 'zero']);
    expect(badFlag).toMatchObject({ code: 2, stderr: expect.stringMatching(/--shards must be a positive integer/) });
  });
});

describe('cli against a running sandbox: every command and its exit code', () => {
  let dir: string;
  let config: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mxo-cli-'));
    config = path.join(dir, 'cluster.json');
    const start = await cli(['sandbox', 'start', '--dir', dir, '--shards', '1', '--replicas', '1'], 60_000);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/sandbox running/);
  }, 120_000);

  afterAll(async () => {
    await cli(['sandbox', 'stop', '--dir', dir], 60_000);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('sandbox start records every server it started', async () => {
    const pids = Object.values(JSON.parse(await readFile(path.join(dir, 'pids.json'), 'utf8')) as Record<string, unknown>);
    expect(pids).toHaveLength(3); // global, alpha primary, alpha replica
  });

  it('migrate applies once, then finds everything applied (exit 0 both times)', async () => {
    const first = await cli(['migrate', '--config', config]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/global-primary: applied [1-9]\d*/);
    const second = await cli(['migrate', '--config', config]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/global-primary: applied 0 /);
  });

  it('recover prints its report and exits 0', async () => {
    const recovered = await cli(['recover', '--config', config]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(JSON.parse(recovered.stdout)).toMatchObject({ committed: [], rolledBack: [], unreachable: [] });
  });

  it('verify exits 0 on a consistent cluster and names a violation with exit 1', async () => {
    const ok = await cli(['verify', '--config', config]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/: OK/);
    const nodes = JSON.parse(await readFile(config, 'utf8')) as { global: { primary: string } };
    const global = await mysql.createConnection({ uri: nodes.global.primary.replace(/^mysql:\/\/[^@]*@/, 'mysql://root@') });
    try {
      // A directory row whose character exists on no shard.
      await global
        .query("INSERT INTO character_directory (account_id, character_name, shard_name, district_id) VALUES (1, 'Nobody', 'alpha', 1)")
        .catch(async () => {
          await global.query("INSERT INTO accounts (username, email, password_hash) VALUES ('cliverify', 'cv@zion.example', 'x')");
          await global.query(
            "INSERT INTO character_directory (account_id, character_name, shard_name, district_id) SELECT account_id, 'Nobody', 'alpha', 1 FROM accounts WHERE username = 'cliverify'",
          );
        });
      const bad = await cli(['verify', '--config', config]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^directory: directory says character \d+ is on alpha; found on no shard$/m);
    } finally {
      await global.query("DELETE FROM character_directory WHERE character_name = 'Nobody'");
      await global.end();
    }
  });

  it('maintain runs every job once and exits 0', async () => {
    const ran = await cli(['maintain', '--config', config]);
    expect(ran.code, ran.stderr).toBe(0);
    for (const job of ['partitions', 'economy', 'sessions', 'inactive', 'restock', 'server_metrics']) {
      expect(ran.stdout).toMatch(new RegExp(`^${job}\\s+(ran|skipped)`, 'm'));
    }
  });

  it('backup writes verified dumps and exits 0', async () => {
    const out = path.join(dir, 'backups');
    const backup = await cli(['backup', '--config', config, '--out', out]);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/alpha.*verified/);
  });

  it('repair-replicas exits 0 on a healthy replica and 3 when a stop has no explanation', async () => {
    const healthy = await cli(['repair-replicas', '--config', config]);
    expect(healthy.code, healthy.stderr).toBe(0);

    // A replica stopped by something no XA defect explains: a row that exists only on the
    // replica, then inserted on the primary (duplicate key on the replica's applier).
    const nodes = JSON.parse(await readFile(config, 'utf8')) as { shards: Array<{ primary: string; replicas: string[] }> };
    const open = (url: string) => mysql.createConnection({ uri: url.replace(/^mysql:\/\/[^@]*@/, 'mysql://root@') });
    const replica = await open(nodes.shards[0]!.replicas[0]!);
    const primary = await open(nodes.shards[0]!.primary);
    try {
      await primary.query('CREATE TABLE cli_clash (id INT PRIMARY KEY)');
      const [[{ pos }]] = (await primary.query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
      await replica.query('SELECT MASTER_GTID_WAIT(?, 30)', [pos]);
      await replica.query('SET SESSION sql_log_bin = 0');
      await replica.query('INSERT INTO cli_clash VALUES (1)');
      await primary.query('INSERT INTO cli_clash VALUES (1)');
      const stuck = await cli(['repair-replicas', '--config', config], 120_000);
      expect(stuck.code, stuck.stdout + stuck.stderr).toBe(3);
      expect(stuck.stdout).toMatch(/unexplained/);
      // Put it right: remove the replica's copy and let the applier retry.
      await replica.query('DELETE FROM cli_clash');
      await replica.query('START SLAVE SQL_THREAD');
    } finally {
      await replica.end();
      await primary.end();
    }
  }, 180_000);

  it('a cluster that cannot be reached exits 1 with the reason on stderr', async () => {
    const dead = path.join(dir, 'dead.json');
    const text = (await readFile(config, 'utf8')).replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:1');
    await writeFile(dead, text);
    const ran = await cli(['migrate', '--config', dead]);
    expect(ran.code).toBe(1);
    expect(ran.stderr.length).toBeGreaterThan(0);
  });
});
