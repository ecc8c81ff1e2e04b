/**
 * The operator's commands against real sandboxes, as users run them (dist/cli.js): `users`,
 * `status` (as mxo_monitor), `backup` (as mxo_backup) of a cluster the library wrote to as
 * mxo_app, then `restore` into a NEW empty cluster and a table-by-table checksum comparison.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumTables } from '../src/backup/table-checksums.js';
import { openCluster } from '../src/index.js';
import type { ClusterConfigInput } from '../src/config/schema.js';
import { seedCharacters } from './support/twopc-world.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve('dist/cli.js');
const PASSWORDS = {
  MXO_APP_PASSWORD: 'cli-app-Secret-001',
  MXO_MIGRATE_PASSWORD: 'cli-migrate-Secret-2',
  MXO_BACKUP_PASSWORD: 'cli-backup-Secret-03',
  MXO_REPL_PASSWORD: 'cli-repl-Secret-004',
  MXO_MONITOR_PASSWORD: 'cli-monitor-Secret-5',
};

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}, timeout = 120_000): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { timeout, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface Nodes {
  global: { primary: string; replicas: string[] };
  shards: Array<{ name: string; primary: string; replicas: string[]; districts: number[] }>;
}

let dir: string;
const configOf = (name: string) => path.join(dir, name, 'cluster.json');
const nodesOf = async (name: string) => JSON.parse(await readFile(configOf(name), 'utf8')) as Nodes;

/** A copy of sandbox `name`'s config logging in as `user` (password from MXO_DB_PASSWORD). */
async function configAs(name: string, user: string): Promise<string> {
  const file = path.join(dir, `${name}-${user}.json`);
  await writeFile(file, (await readFile(configOf(name), 'utf8')).replaceAll('mysql://root@', `mysql://${user}@`));
  return file;
}

function rootConn(url: string): Promise<mysql.Connection> {
  const u = new URL(url);
  return mysql.createConnection({ host: u.hostname, port: Number(u.port), user: 'root', database: u.pathname.slice(1) });
}

/** Checksums of every table on every node of a sandbox, by node URL order (primaries and replicas). */
async function checksumsOf(name: string, which: 'primary' | 'replica') {
  const nodes = await nodesOf(name);
  const urls = [nodes.global, ...nodes.shards]
    .map((s) => (which === 'primary' ? s.primary : s.replicas[0]))
    .filter((u): u is string => !!u);
  const out: Array<Record<string, unknown>> = [];
  for (const url of urls) {
    const c = await rootConn(url);
    try {
      await c.query("SET SESSION time_zone = '+00:00'");
      out.push(await checksumTables(c, new URL(url).pathname.slice(1)));
    } finally {
      await c.end();
    }
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mxo-cli-ops-'));
  const started = await Promise.all(
    ['a', 'b'].map((n) => cli(['sandbox', 'start', '--dir', path.join(dir, n), '--shards', '2', '--replicas', '1'])),
  );
  for (const s of started) expect(s.code, s.stderr).toBe(0);
  const migrated = await cli(['migrate', '--config', configOf('a')]);
  expect(migrated.code, migrated.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await Promise.all(['a', 'b'].map((n) => cli(['sandbox', 'stop', '--dir', path.join(dir, n)])));
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('operator commands', () => {
  it('users: refuses without the passwords (exit 1, naming them), then creates the accounts and prints every grant', async () => {
    const missing = await cli(['users', '--config', configOf('a')], { ...PASSWORDS, MXO_BACKUP_PASSWORD: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/VALIDATION: .*MXO_BACKUP_PASSWORD/);
    const made = await cli(['users', '--config', configOf('a')], PASSWORDS);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain("GRANT EXECUTE ON `mxo_shard`.* TO 'mxo_app'@'%'");
    expect(made.stdout).toContain("GRANT SELECT, INSERT, UPDATE, DELETE ON `mxo_shard`.`characters` TO 'mxo_app'@'%'");
    expect(made.stdout).toContain("GRANT SELECT ON `mxo_global`.`district_placement` TO 'mxo_app'@'%'");
    expect(made.stdout).toContain("GRANT REPLICATION SLAVE ON *.* TO 'mxo_repl'@'%'");
    for (const secret of Object.values(PASSWORDS)) expect(made.stdout + made.stderr).not.toContain(secret);

    // --dry-run prints the same statements without a cluster, passwords as placeholders.
    const dry = await cli(['users', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    for (const user of ['mxo_app', 'mxo_migrate', 'mxo_backup', 'mxo_repl', 'mxo_monitor']) {
      expect(dry.stdout).toContain(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM '${user}'@'%';`);
    }
    expect(dry.stdout).toContain("IDENTIFIED BY '<MXO_APP_PASSWORD>'");
    expect(dry.stdout).toContain("GRANT SELECT, INSERT, UPDATE ON `mxo_shard`.`system_logs` TO 'mxo_app'@'%';");
    expect(dry.stdout).not.toMatch(/GRANT [^;]*(ALTER|DROP|PROCESS)[^;]*TO 'mxo_app'/);
  });

  it('the library writes as mxo_app; status (as mxo_monitor) is healthy, in text and JSON', async () => {
    const db = await openCluster(await configAs('a', 'mxo_app'), { env: { MXO_DB_PASSWORD: PASSWORDS.MXO_APP_PASSWORD } });
    try {
      const { characters } = await seedCharacters(db, { districts: [1, 4, 2, 5], count: 4, money: 300, itemsEach: 2, prefix: 'ops' });
      const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
      const trade = await db.trades.execute({
        initiator: { characterId: a.id, money: 40, itemIds: a.items.slice(0, 1) },
        recipient: { characterId: b.id, money: 10, itemIds: b.items.slice(0, 1) },
      });
      expect(trade.crossShard).toBe(true);
      await db.waitForReplicas(10_000);
    } finally {
      await db.close();
    }
    const monitor = await configAs('a', 'mxo_monitor');
    const env = { MXO_DB_PASSWORD: PASSWORDS.MXO_MONITOR_PASSWORD };
    const text = await cli(['status', '--config', monitor], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/cluster: healthy/);
    const json = await cli(['status', '--config', monitor, '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.healthy).toBe(true);
    expect(report.nodes.map((n: { name: string; up: boolean }) => `${n.name}:${n.up}`)).toEqual([
      'global-primary:true',
      'alpha-primary:true',
      'alpha-replica-1:true',
      'beta-primary:true',
      'beta-replica-1:true',
    ]);
    expect(
      report.nodes
        .filter((n: { role: string }) => n.role === 'replica')
        .every((n: { replication: { caughtUp: boolean } }) => n.replication.caughtUp),
    ).toBe(true);
    expect(report.shards.map((s: { characters: number }) => s.characters)).toEqual([2, 2]);
    expect(report.inDoubt).toEqual([]);
    expect(report.schema.every((s: { pending: string[]; drift: string[] }) => s.pending.length === 0 && s.drift.length === 0)).toBe(true);
  }, 60_000);

  it('status exits 1 naming a stopped replica and a node that is down', async () => {
    const replica = await rootConn((await nodesOf('a')).shards[0]!.replicas[0]!);
    try {
      await replica.query('STOP SLAVE SQL_THREAD');
      const stopped = await cli(['status', '--config', configOf('a')]);
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toMatch(/alpha-replica-1: replication stopped \(io on, sql off\)/);
    } finally {
      await replica.query('START SLAVE SQL_THREAD');
      await replica.end();
    }
    const dead = path.join(dir, 'dead.json');
    const nodes = await nodesOf('a');
    nodes.shards[1]!.replicas = ['mysql://root@127.0.0.1:1/mxo_shard'];
    await writeFile(dead, JSON.stringify(nodes));
    const down = await cli(['status', '--config', dead]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/beta-replica-1 is down: [A-Z_]+: /);
  });

  it('backup refuses a retention of zero (exit 2), then takes a consistent cut from the replicas as mxo_backup', async () => {
    const out = path.join(dir, 'backups');
    // A counter behind the rows it handed out (as after restoring an older global dump):
    // restore must move it past the highest restored item id.
    const globalA = await rootConn((await nodesOf('a')).global.primary);
    await globalA.query("UPDATE id_sequences SET next_value = 2 WHERE sequence_name = 'item_id'");
    await globalA.end();
    const zero = await cli(['backup', '--config', configOf('a'), '--out', out, '--keep-days', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--keep-days must be a positive integer/);
    const backup = await cli(['backup', '--config', await configAs('a', 'mxo_backup'), '--out', out], {
      MXO_DB_PASSWORD: PASSWORDS.MXO_BACKUP_PASSWORD,
    });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/alpha .* verified, gtid \d+-\d+-\d+/);
    const manifestName = (await readdir(out)).find((n) => n.startsWith('mxo_manifest_'))!;
    const manifest = JSON.parse(await readFile(path.join(out, manifestName), 'utf8'));
    expect(manifest.tiers.map((t: { source: string }) => t.source)).toEqual(['global-primary', 'alpha-replica-1', 'beta-replica-1']);
    // The cut: each tier's recorded position is its primary's now (nothing written since).
    const nodes = await nodesOf('a');
    for (const [i, url] of [nodes.global.primary, ...nodes.shards.map((s) => s.primary)].entries()) {
      const c = await rootConn(url);
      const [[{ pos }]] = (await c.query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
      await c.end();
      expect(manifest.tiers[i].gtidPosition).toBe(pos);
    }
  }, 60_000);

  it('restore into a new empty cluster: every table equals the source by checksum, on primaries and replicas', async () => {
    const out = path.join(dir, 'backups');
    const restored = await cli(['restore', '--config', configOf('b'), '--from', out]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/alpha-primary .* checksums match/);
    const sequence = /sequence item_id +next (\d+) \(restored 2, highest id (\d+)\)/.exec(restored.stdout)!;
    expect(Number(sequence[2])).toBeGreaterThanOrEqual(8); // 4 characters x 2 items
    expect(Number(sequence[1])).toBe(Number(sequence[2]) + 1);
    const source = await checksumsOf('a', 'primary');
    const restoredGlobal = await checksumsOf('b', 'primary');
    // Equal table for table, but for id_sequences on global, which restore moved on.
    expect(restoredGlobal[0]!.id_sequences).not.toEqual(source[0]!.id_sequences);
    delete restoredGlobal[0]!.id_sequences;
    delete source[0]!.id_sequences;
    expect(restoredGlobal).toEqual(source);
    expect(await checksumsOf('b', 'replica')).toEqual(source.slice(1)); // global has no replica
    expect(Object.keys(source[1]!)).toContain('character_inventory');

    // The restored cluster works, and new ids land past every restored one.
    const db = await openCluster(configOf('b'));
    try {
      const alpha = await rootConn((await nodesOf('b')).shards[0]!.primary);
      const [[{ m: highest }]] = (await alpha.query('SELECT MAX(item_id) AS m FROM character_inventory')) as unknown as [[{ m: number }]];
      await alpha.end();
      const { accountId } = await db.accounts.register({ username: 'restored_op', email: 'r@example.com', password: 'password123' });
      const ch = await db.characters.create({
        accountId,
        name: 'Restored_One',
        archetype: 'hacker',
        gender: 'female',
        appearance: {},
        districtId: 1,
      });
      const templateId = await db.items.defineTemplate({ itemName: 'After Restore', itemType: 'misc', isTradeable: true });
      const { itemId } = await db.inventory.grant(ch.characterId, { templateId });
      expect(itemId).toBeGreaterThan(highest);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('restore refuses a cluster that is not empty, and fails naming a table whose checksum differs', async () => {
    const out = path.join(dir, 'backups');
    const again = await cli(['restore', '--config', configOf('b'), '--from', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/RESTORE_REFUSED: .* already holds \d+ table\(s\)/);

    // Empty B again, and restore from a backup whose manifest disagrees with its dump.
    const nodes = await nodesOf('b');
    for (const url of [nodes.global.primary, ...nodes.shards.map((s) => s.primary)]) {
      const c = await rootConn(url);
      await c.query(`DROP DATABASE ${new URL(url).pathname.slice(1)}`);
      await c.end();
    }
    const tampered = path.join(dir, 'tampered');
    await cp(out, tampered, { recursive: true });
    const name = (await readdir(tampered)).find((n) => n.startsWith('mxo_manifest_'))!;
    const manifest = JSON.parse(await readFile(path.join(tampered, name), 'utf8'));
    manifest.tiers[2].checksums.characters.rows += 1;
    await writeFile(path.join(tampered, name), JSON.stringify(manifest));
    const bad = await cli(['restore', '--config', configOf('b'), '--from', tampered]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/RESTORE_FAILED: .*beta-primary: characters: 2 rows/);
  }, 120_000);
});
