/**
 * A shard primary lost for good (issue 25), the bank variant: two shards, each primary with two
 * replicas (semi-synchronous), characters with money and items, workers running random trades
 * (mostly cross-shard). Mid-run alpha's primary is killed -9 and its data directory deleted; then
 * `mxo-data failover alpha` (the CLI, another process, as an administrator) promotes the replica
 * that applied the most and repoints the other. The test process, running all along as mxo_app,
 * follows without a restart: its first write to an alpha district after the command succeeds.
 * Afterwards, by direct SQL on the promoted server: every trade the library acknowledged is there,
 * money and items are conserved, nothing is left prepared after recovery, the repointed replica
 * replicates from the new primary.
 *
 * Also, the refusals: bad input is a typed error naming the field before anything changes, and a
 * replica cannot be promoted over one that applied more without --force.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRefusedError, MxoError, openCluster, OutcomeUnknownError, ValidationError } from '../src/index.js';
import { startTestCluster, TEST_USER_PASSWORDS, type TestCluster } from './support/cluster.js';
import { readWorld, recoverUntilClean, rowsOn, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters, type SeededCharacter } from './support/twopc-world.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve('dist/cli.js');
const GRACE_MS = 1_500;
const WORKERS = 4;

let tc: TestCluster;

beforeAll(async () => {
  // The CLI (a child) and the library repoint replicas as mxo_repl with this password.
  process.env.MXO_REPL_PASSWORD = TEST_USER_PASSWORDS.MXO_REPL_PASSWORD;
  tc = await startTestCluster({
    shards: 2,
    replicasPerShard: 2,
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

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { timeout: 120_000, env: process.env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('failover of a shard whose primary is lost for good', () => {
  it('refuses bad input, typed and naming the field, before anything changes', async () => {
    const admin = await openCluster(tc.rootConfig);
    try {
      for (const [call, field] of [
        [() => admin.admin.failover('Alpha!'), 'shard'],
        [() => admin.admin.failover('gamma'), 'shard'],
        [() => admin.admin.failover('alpha', { to: 'beta-replica-1' }), 'to'],
        [() => admin.admin.failover('alpha', { force: 'yes' as unknown as boolean }), 'force'],
      ] as const) {
        const error = await call().catch((e) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).fields.join(' ')).toContain(field);
      }
      // Nothing changed: alpha's primary still takes writes, its replicas still follow it.
      const [ro] = await rowsOn<{ ro: number }>(tc.sandbox, 'alpha-primary', 'SELECT @@read_only AS ro');
      expect(Number(ro!.ro)).toBe(0);
      const [row] = await rowsOn<{ n: number }>(tc.sandbox, 'global-primary', 'SELECT COUNT(*) AS n FROM shard_primaries');
      expect(Number(row!.n)).toBe(0);
    } finally {
      await admin.close();
    }
  });

  it('kill -9 + data dir deleted mid-run: the CLI promotes, nothing acknowledged is lost, the running process follows', async () => {
    const { db, sandbox } = tc;
    const { characters } = await seedCharacters(db, { districts: [1, 4, 2, 5, 3, 6], count: 24, money: 1_000, itemsEach: 2, prefix: 'fo' });
    const ids = characters.map((c) => c.id);
    const start = await readWorld(sandbox, ids);
    expect(start.problems).toEqual([]);
    expect(start.totalMoney).toBe(24_000);

    const owner = new Map(start.items);
    const byShard = (s: string) => characters.filter((c) => c.shard === s);
    const rand = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
    const itemsOf = (c: SeededCharacter) => [...owner].filter(([, o]) => o === c.id).map(([i]) => i);
    const pick = (c: SeededCharacter) =>
      itemsOf(c)
        .filter(() => Math.random() < 0.3)
        .slice(0, 2);
    const committed: Array<{ tradeId: number; shards: string[] }> = [];
    const errors = new Map<string, number>();
    const untyped: string[] = [];
    let unknown = 0;
    let running = true;

    const worker = async () => {
      while (running) {
        const a = rand(characters);
        const cross = Math.random() < 0.7;
        const b = rand(cross ? byShard(a.shard === 'alpha' ? 'beta' : 'alpha') : byShard(a.shard).filter((c) => c.id !== a.id));
        const give = pick(a);
        const take = pick(b);
        try {
          const r = await db.trades.execute({
            initiator: { characterId: a.id, money: 1 + Math.floor(Math.random() * 40), itemIds: give },
            recipient: { characterId: b.id, money: Math.floor(Math.random() * 20), itemIds: take },
          });
          committed.push({ tradeId: r.tradeId, shards: [...new Set([a.shard, b.shard])] });
          for (const i of give) owner.set(i, b.id);
          for (const i of take) owner.set(i, a.id);
        } catch (error) {
          if (error instanceof OutcomeUnknownError) unknown++;
          const key = error instanceof MxoError ? error.code : `UNTYPED ${(error as Error)?.constructor?.name}`;
          errors.set(key, (errors.get(key) ?? 0) + 1);
          if (!(error instanceof MxoError)) untyped.push(String((error as Error)?.stack ?? error));
          if (error instanceof MxoError && !['INSUFFICIENT_FUNDS', 'TRADE_ABORTED'].includes(error.code)) {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);

    // Trades flow on both shards before the loss.
    const until = async (what: string, check: () => boolean, timeoutMs = 30_000) => {
      const started = Date.now();
      while (!check()) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until('40 trades committed', () => committed.length >= 40);
    // A second process that learns of the failover only through its own write: no periodic refresh.
    const follower = await openCluster(tc.config);
    follower.admin.stop();
    const alphaChar = byShard('alpha')[0]!;
    await follower.characters.get(alphaChar.id);
    const followerPrimary = () => follower.pools().find((p) => p.identity.shard === 'alpha' && p.identity.role === 'primary')!.address.port;
    expect(followerPrimary()).toBe(sandbox.node('alpha-primary').port);
    // A third whose first call after the failover is a read: keyed reads (get, spawn) follow too.
    const reader = await openCluster(tc.config);
    reader.admin.stop();
    await reader.characters.get(alphaChar.id);
    await sandbox.kill('alpha-primary');
    await rm(path.join(sandbox.dir, 'alpha-primary', 'data'), { recursive: true, force: true });
    const beforeFailover = committed.length;
    await new Promise((r) => setTimeout(r, 1_000)); // workers meet the dead primary (typed errors)

    const failoverStarted = Date.now();
    const out = await cli(['failover', 'alpha', '--config', sandbox.configPath]);
    const failoverMs = Date.now() - failoverStarted;
    expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
    const promoted = /alpha: (alpha-replica-\d) \(/.exec(out.stdout)?.[1];
    expect(promoted, out.stdout).toBeDefined();
    const other = promoted === 'alpha-replica-1' ? 'alpha-replica-2' : 'alpha-replica-1';
    expect(out.stdout).toContain('old primary alpha-primary');
    expect(out.stdout).toContain(': unreachable');
    expect(out.stdout).toContain(`replicas following it: ${sandbox.node(other).host}:${sandbox.node(other).port}`);

    // The running processes follow: the first write to an alpha district after the command works,
    // in the follower on its own (it still pointed at the dead primary) and in the workers' process.
    expect(followerPrimary()).toBe(sandbox.node('alpha-primary').port);
    const firstWrite = Date.now();
    await follower.characters.adjustMoney(alphaChar.id, 1, 'quest_reward');
    const followMs = Date.now() - firstWrite;
    expect(followerPrimary()).toBe(sandbox.node(promoted!).port);
    await follower.close();
    try {
      const [read, spawned] = await Promise.all([
        reader.characters.get(alphaChar.id, { consistency: 'strong' }),
        reader.characters.spawn(alphaChar.id, { consistency: 'strong' }),
      ]);
      expect([read.characterId, spawned.characterId, spawned.shard]).toEqual([alphaChar.id, alphaChar.id, 'alpha']);
      expect(reader.pools().find((p) => p.identity.shard === 'alpha' && p.identity.role === 'primary')!.address.port).toBe(
        sandbox.node(promoted!).port,
      );
    } finally {
      await reader.close();
    }
    await db.characters.adjustMoney(alphaChar.id, 1, 'quest_reward');
    // Trades keep committing on alpha after the failover.
    const afterFailover = committed.length;
    await until(
      '20 more trades, some on alpha',
      () => committed.slice(afterFailover).filter((t) => t.shards.includes('alpha')).length >= 10,
    );
    running = false;
    await Promise.all(workers);
    console.log(
      'failover test:',
      JSON.stringify({
        committed: committed.length,
        beforeFailover,
        afterFailover,
        unknown,
        failoverMs,
        followMs,
        errors: Object.fromEntries(errors),
      }),
    );
    expect(untyped, 'every error must be an MxoError').toEqual([]);

    // Settle everything in doubt on the promoted server and the rest.
    const primaries = ['global-primary', promoted!, 'beta-primary'];
    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    await recoverUntilClean(db, sandbox, 30_000, primaries);
    expect(Object.values(await xaRecoverAll(sandbox, primaries)).flat()).toEqual([]);

    const end = await readWorld(sandbox, ids, [promoted!, 'beta-primary']);
    expect(end.problems).toEqual([]);
    expect(end.totalMoney).toBe(start.totalMoney + 2); // money drift 0 (the two quest rewards above aside)
    expect([...end.items.keys()].sort()).toEqual([...start.items.keys()].sort()); // items lost 0, duplicated 0 (readWorld)
    expect(new Set(end.shardOf.keys())).toEqual(new Set(ids));
    // Every acknowledged trade is on every shard it touched: alpha's now being the promoted replica.
    for (const [shard, node] of [
      ['alpha', promoted!],
      ['beta', 'beta-primary'],
    ] as const) {
      const have = new Set(
        (await rowsOn<{ trade_id: number }>(sandbox, node, 'SELECT trade_id FROM trade_sessions')).map((r) => Number(r.trade_id)),
      );
      const missing = committed.filter((t) => t.shards.includes(shard) && !have.has(t.tradeId)).map((t) => t.tradeId);
      expect(missing, `acknowledged trades missing on ${shard} (${node})`).toEqual([]);
    }

    // The other replica follows the promoted primary and has everything it has.
    // As in the bank test: a replica stuck by MariaDB 10.11's user-XA replica defects is repaired
    // where the primary's binlog proves the cause (an administrator's job, as root); nothing else.
    // The admin process learns the promoted primary from global at open.
    const admin = await openCluster(tc.rootConfig);
    const repairs = await admin.repairReplicas().finally(() => admin.close());
    if (repairs.some((r) => r.repaired.length > 0)) console.warn('replica repairs:', JSON.stringify(repairs.flatMap((r) => r.repaired)));
    expect(repairs.flatMap((r) => r.unexplained)).toEqual([]);
    const [pos] = await rowsOn<{ pos: string }>(sandbox, promoted!, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const [waited] = await rowsOn<{ w: number }>(sandbox, other, 'SELECT MASTER_GTID_WAIT(?, 30) AS w', [pos!.pos]);
    const [status] = await rowsOn<Record<string, unknown>>(sandbox, other, 'SHOW SLAVE STATUS');
    const [otherPos] = await rowsOn<Record<string, unknown>>(
      sandbox,
      other,
      'SELECT @@gtid_slave_pos AS applied, @@gtid_current_pos AS cur',
    );
    const why = {
      io: status?.Slave_IO_Running,
      sql: status?.Slave_SQL_Running,
      ioError: status?.Last_IO_Error,
      sqlError: status?.Last_SQL_Error,
      gtidIo: status?.Gtid_IO_Pos,
      ...otherPos,
      primary: pos!.pos,
      dir: sandbox.dir,
    };
    expect(Number(waited!.w), JSON.stringify(why)).toBe(0);
    expect(status!.Master_Port).toBe(sandbox.node(promoted!).port);
    // The promoted server is a durable, writable, semi-synchronous primary; global records it.
    const [vars] = await rowsOn<Record<string, unknown>>(
      sandbox,
      promoted!,
      'SELECT @@read_only AS ro, @@sync_binlog AS sb, @@innodb_flush_log_at_trx_commit AS fl, @@rpl_semi_sync_master_enabled AS semi',
    );
    expect(vars).toEqual({ ro: 0, sb: 1, fl: 1, semi: 1 });
    const [recorded] = await rowsOn<Record<string, unknown>>(
      sandbox,
      'global-primary',
      "SELECT primary_port, version FROM shard_primaries WHERE shard_name = 'alpha'",
    );
    expect(recorded).toEqual({ primary_port: sandbox.node(promoted!).port, version: 1 });
    const s = await db.status();
    expect(s.nodes.find((n) => n.shard === 'alpha' && n.role === 'primary')?.semiSync).toEqual({ enabled: true, active: true, clients: 1 });
  }, 240_000);

  it('refuses to promote a replica that has not applied what it received, and puts back the fence', async () => {
    // alpha now: the promoted primary and one replica. The replica receives but cannot apply.
    const alpha = (await tc.db.status()).nodes.filter((n) => n.shard === 'alpha');
    const primaryAddress = alpha.find((n) => n.role === 'primary')!.address.split('/')[0];
    const replicaAddress = alpha.find((n) => n.role === 'replica')!.address.split('/')[0];
    const nodeAt = (address: string | undefined) => tc.sandbox.nodes.find((n) => `${n.host}:${n.port}` === address)!.name;
    const [primaryNode, replicaNode] = [nodeAt(primaryAddress), nodeAt(replicaAddress)];
    await rowsOn(tc.sandbox, replicaNode, 'STOP SLAVE SQL_THREAD');
    try {
      const character = (await rowsOn<{ id: number }>(tc.sandbox, primaryNode, 'SELECT character_id AS id FROM characters LIMIT 1'))[0]!.id;
      await tc.db.characters.adjustMoney(Number(character), 1, 'quest_reward');
      // A process opened now learns alpha's nodes from global (its config still names the dead primary).
      const admin = await openCluster(tc.rootConfig);
      try {
        const error = await admin.admin.failover('alpha', { to: replicaAddress!, catchUpTimeoutMs: 500 }).catch((e) => e);
        expect(error).toBeInstanceOf(FailoverRefusedError);
        expect((error as FailoverRefusedError).message).toMatch(/did not finish applying its relay log/);
      } finally {
        await admin.close();
      }
      // Put back: the primary writable (the running process writes there), the replica receiving.
      const [ro] = await rowsOn<{ ro: number }>(tc.sandbox, primaryNode, 'SELECT @@read_only AS ro');
      expect(Number(ro!.ro)).toBe(0);
      await tc.db.characters.adjustMoney(Number(character), 1, 'quest_reward');
      const [status] = await rowsOn<Record<string, unknown>>(tc.sandbox, replicaNode, 'SHOW SLAVE STATUS');
      expect(status!.Slave_IO_Running).toBe('Yes');
      const [recorded] = await rowsOn<{ version: number }>(
        tc.sandbox,
        'global-primary',
        "SELECT version FROM shard_primaries WHERE shard_name = 'alpha'",
      );
      expect(Number(recorded!.version)).toBe(1);
    } finally {
      await rowsOn(tc.sandbox, replicaNode, 'START SLAVE SQL_THREAD');
    }
  }, 120_000);
});
