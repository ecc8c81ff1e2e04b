/**
 * The global primary (directory, ids, two-phase-commit decisions) lost for good (issue 25): one
 * shard, global with two semi-synchronous replicas. Workers create characters (a two-phase commit
 * of global and alpha, decided on global) and register accounts (global alone). Mid-run the
 * global primary is killed -9 and its data directory deleted; `mxo-data failover global` promotes
 * a replica and records it there. A process without the periodic refresh follows through its own
 * write (it reads the record from global's replicas); afterwards every acknowledged character is
 * in the promoted server's directory and on alpha, every acknowledged account exists, nothing is
 * left prepared after recovery, and no directory row lacks its character.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError, openCluster, OutcomeUnknownError } from '../src/index.js';
import { startTestCluster, TEST_USER_PASSWORDS, type TestCluster } from './support/cluster.js';
import { recoverUntilClean, rowsOn, xaRecoverAll } from './support/twopc-invariants.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve('dist/cli.js');
const GRACE_MS = 1_500;

let tc: TestCluster;

beforeAll(async () => {
  process.env.MXO_REPL_PASSWORD = TEST_USER_PASSWORDS.MXO_REPL_PASSWORD;
  tc = await startTestCluster({
    shards: 1,
    replicasPerShard: 1,
    globalReplicas: 2,
    config: {
      recovery: { intervalMs: 1_000, gracePeriodMs: GRACE_MS },
      pool: { max: 12, downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000, lockWaitTimeoutSec: 2 },
      twoPhase: { statementTimeoutMs: 4_000, deadlockRetries: 5 },
    },
  });
}, 120_000);

afterAll(async () => {
  await tc?.stop();
});

describe('failover of the global primary', () => {
  it('kill -9 + data dir deleted mid-run: the CLI promotes, nothing acknowledged is lost, processes follow', async () => {
    const { db, sandbox } = tc;
    const { accountId } = await db.accounts.register({ username: 'oracle', email: 'oracle@zion.test', password: 'cookies-and-candy' });
    const characters: number[] = [];
    const accounts: number[] = [];
    const errors = new Map<string, number>();
    const untyped: string[] = [];
    let unknown = 0;
    let running = true;
    let n = 0;
    const worker = async (w: number) => {
      while (running) {
        const i = n++;
        try {
          if (i % 3 === 0) {
            accounts.push((await db.accounts.register({ username: `acc${w}x${i}`, email: `a${w}x${i}@zion.test`, password: 'password123' })).accountId);
          } else {
            characters.push((await db.characters.create({ accountId, name: `Ghost${w}x${i}`, archetype: 'hacker', gender: 'male', districtId: 1 + (i % 3) })).characterId);
          }
        } catch (error) {
          if (error instanceof OutcomeUnknownError) unknown++;
          const key = error instanceof MxoError ? error.code : `UNTYPED ${(error as Error)?.constructor?.name}`;
          errors.set(key, (errors.get(key) ?? 0) + 1);
          if (!(error instanceof MxoError)) untyped.push(String((error as Error)?.stack ?? error));
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = [0, 1, 2].map(worker);
    const until = async (what: string, check: () => boolean, timeoutMs = 30_000) => {
      const started = Date.now();
      while (!check()) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until('20 characters created', () => characters.length >= 20);

    const follower = await openCluster(tc.config);
    follower.admin.stop();
    const globalPort = () => follower.pools().find((p) => p.identity.shard === 'global' && p.identity.role === 'primary')!.address.port;
    await sandbox.kill('global-primary');
    await rm(path.join(sandbox.dir, 'global-primary', 'data'), { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 1_000));

    let out: { stdout: string; stderr: string };
    try {
      out = await execFileAsync(process.execPath, [CLI, 'failover', 'global', '--config', sandbox.configPath], { timeout: 120_000, env: process.env });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`failover global failed:\n${e.stdout}\n${e.stderr}`);
    }
    const promoted = /global: (global-replica-\d) \(/.exec(out.stdout)?.[1];
    expect(promoted, out.stdout).toBeDefined();
    expect(out.stdout).toContain(': unreachable');

    // The follower still points at the dead primary; its own write makes it follow.
    expect(globalPort()).toBe(sandbox.node('global-primary').port);
    const followed = await follower.accounts.register({ username: 'seraph', email: 'seraph@zion.test', password: 'the-keymaker-lives' });
    expect(globalPort()).toBe(sandbox.node(promoted!).port);
    accounts.push(followed.accountId);
    await follower.close();

    const after = characters.length;
    await until('10 more characters created', () => characters.length >= after + 10);
    running = false;
    await Promise.all(workers);
    console.log('global failover test:', JSON.stringify({ characters: characters.length, accounts: accounts.length, unknown, errors: Object.fromEntries(errors) }));
    expect(untyped, 'every error must be an MxoError').toEqual([]);

    const primaries = [promoted!, 'alpha-primary'];
    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    await recoverUntilClean(db, sandbox, 30_000, primaries);
    expect(Object.values(await xaRecoverAll(sandbox, primaries)).flat()).toEqual([]);

    const directory = new Set((await rowsOn<{ id: number }>(sandbox, promoted!, 'SELECT character_id AS id FROM character_directory')).map((r) => Number(r.id)));
    const onAlpha = new Set((await rowsOn<{ id: number }>(sandbox, 'alpha-primary', 'SELECT character_id AS id FROM characters')).map((r) => Number(r.id)));
    const accountRows = new Set((await rowsOn<{ id: number }>(sandbox, promoted!, 'SELECT account_id AS id FROM accounts')).map((r) => Number(r.id)));
    expect(characters.filter((id) => !directory.has(id)), 'acknowledged characters missing from the directory').toEqual([]);
    expect(characters.filter((id) => !onAlpha.has(id)), 'acknowledged characters missing on alpha').toEqual([]);
    expect(accounts.filter((id) => !accountRows.has(id)), 'acknowledged accounts missing').toEqual([]);
    expect([...directory].filter((id) => !onAlpha.has(id)), 'directory rows without their character').toEqual([]);
    expect([...onAlpha].filter((id) => !directory.has(id)), 'characters without a directory row').toEqual([]);
    // The other global replica follows the promoted one.
    const other = promoted === 'global-replica-1' ? 'global-replica-2' : 'global-replica-1';
    // As in the bank test: a replica stuck by MariaDB 10.11's user-XA replica defects is repaired
    // where the primary's binlog proves the cause (an administrator's job, as root); nothing else.
    // The admin process learns the promoted primary from global at open.
    const admin = await openCluster(tc.rootConfig);
    const repairs = await admin.repairReplicas().finally(() => admin.close());
    if (repairs.some((r) => r.repaired.length > 0)) console.warn('replica repairs:', JSON.stringify(repairs.flatMap((r) => r.repaired)));
    expect(repairs.flatMap((r) => r.unexplained)).toEqual([]);
    const [pos] = await rowsOn<{ pos: string }>(sandbox, promoted!, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const [waited] = await rowsOn<{ w: number }>(sandbox, other, 'SELECT MASTER_GTID_WAIT(?, 30) AS w', [pos!.pos]);
    expect(Number(waited!.w)).toBe(0);
  }, 240_000);
});
