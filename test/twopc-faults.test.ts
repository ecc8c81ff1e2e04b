/**
 * Two-phase commit under real crashes (no mocks): a cross-shard trade (alpha <-> beta, decision
 * on beta) and a cross-shard move (alpha -> beta, decision on global), with kill -9 of a server or
 * of the coordinating process at each phase, then restart and recovery. Every outcome is read
 * back with direct SQL on every server: it must be the one the decision table records, with no
 * prepared branch left, money conserved and every item in exactly one inventory.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MxoError, OutcomeUnknownError, ShardUnavailableError, type CoordinatorPhase } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { useTempDirs } from './support/temp-dirs.js';
import {
  decisionOf,
  readWorld,
  recoverUntilClean,
  rowsOn,
  waitPastGrace,
  xaRecover,
  xaRecoverAll,
  type WorldState,
} from './support/twopc-invariants.js';
import { killChild, readChildEvents, runChild, seedCharacters, type ChildPlan, type SeededCharacter } from './support/twopc-world.js';

const GRACE_MS = 1_200;

type Hook = (phase: CoordinatorPhase, info: { gtrid: string; operation: string; key?: string }) => void | Promise<void>;

const tempDir = useTempDirs();

describe('two-phase commit: kill -9 at every phase, restart, recover', () => {
  let tc: TestCluster;
  let hook: Hook | undefined;
  let outDir: string;

  beforeAll(async () => {
    tc = await startTestCluster({
      shards: 2,
      replicasPerShard: 0,
      config: {
        recovery: { intervalMs: 0, gracePeriodMs: GRACE_MS },
        // A restarted server is retried soon; a dead one fails fast.
        pool: { downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 3_000 },
      },
      open: { hooks: { onPhase: (phase, info) => hook?.(phase, info) } },
    });
    outDir = tempDir('mxo-twopc-child-');
  });

  afterAll(async () => {
    await tc?.stop();
  });

  beforeEach(() => {
    hook = undefined;
  });

  /** A fresh pair: one character on alpha (district 1), one on beta (district 4). */
  async function pair(): Promise<[SeededCharacter, SeededCharacter]> {
    const { characters } = await seedCharacters(tc.db, { districts: [1, 4], count: 2, money: 1_000, itemsEach: 2 });
    expect(characters.map((c) => c.shard)).toEqual(['alpha', 'beta']);
    return characters as [SeededCharacter, SeededCharacter];
  }

  /** A character on alpha with rows in several moving tables. */
  async function mover(): Promise<SeededCharacter> {
    const { characters } = await seedCharacters(tc.db, { districts: [1], count: 1, money: 700, itemsEach: 3 });
    return characters[0]!;
  }

  /** alpha gives 100 and its first item; beta gives 30 and its first item. */
  const tradeOf = (a: SeededCharacter, b: SeededCharacter) => ({
    initiator: { characterId: a.id, money: 100, itemIds: [a.items[0]!] },
    recipient: { characterId: b.id, money: 30, itemIds: [b.items[0]!] },
  });

  /** The world after the trade, if it committed. */
  function traded(before: WorldState, a: SeededCharacter, b: SeededCharacter): WorldState {
    const money = new Map(before.money);
    money.set(a.id, before.money.get(a.id)! - 100 + 30);
    money.set(b.id, before.money.get(b.id)! - 30 + 100);
    const items = new Map(before.items);
    items.set(a.items[0]!, b.id);
    items.set(b.items[0]!, a.id);
    return { ...before, money, items };
  }

  function moved(before: WorldState, m: SeededCharacter, shard: string): WorldState {
    const shardOf = new Map(before.shardOf);
    shardOf.set(m.id, shard);
    return { ...before, shardOf };
  }

  /**
   * The checks after every scenario, all by direct SQL: nothing prepared on any primary; no
   * invariant broken; total money and the set of items unchanged; the world equals `ifCommit`
   * when the decision table says commit and `before` otherwise.
   */
  async function expectSettled(gtrid: string, before: WorldState, ifCommit: WorldState, expected: 'commit' | 'abort'): Promise<void> {
    expect(await xaRecoverAll(tc.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
    const decision = await decisionOf(tc.sandbox, gtrid);
    // A missing record means nothing committed (recovery writes 'abort' before rolling back).
    expect(decision ?? 'abort').toBe(expected);
    const after = await readWorld(tc.sandbox);
    expect(after.problems).toEqual([]);
    expect(after.totalMoney).toBe(before.totalMoney);
    expect([...after.items.keys()].sort()).toEqual([...before.items.keys()].sort());
    const want = expected === 'commit' ? ifCommit : before;
    expect(Object.fromEntries(after.money)).toEqual(Object.fromEntries(want.money));
    expect(Object.fromEntries(after.items)).toEqual(Object.fromEntries(want.items));
    expect(Object.fromEntries(after.shardOf)).toEqual(Object.fromEntries(want.shardOf));
    // No connection is left borrowed (a leaked prepared-branch session would hang db.close()).
    expect(tc.db.pools().map((p) => [p.identity.name, p.stats().inUse])).toEqual(tc.db.pools().map((p) => [p.identity.name, 0]));
  }

  /** Kills `node` from inside the coordinator's hook at `phase`; records the gtrid. */
  function killAt(phase: CoordinatorPhase, node: string): { gtrid?: string } {
    const seen: { gtrid?: string } = {};
    hook = async (p, info) => {
      if (p !== phase || seen.gtrid) return;
      seen.gtrid = info.gtrid;
      await tc.sandbox.kill(node);
    };
    return seen;
  }

  async function restartAndRecover(node: string, gtrid: string): Promise<void> {
    await tc.sandbox.restart(node);
    await waitPastGrace(gtrid, GRACE_MS);
    await recoverUntilClean(tc.db, tc.sandbox);
  }

  describe('a participant primary (XA branch side) killed in-process', () => {
    it('trade: alpha killed after prepare; the coordinator commits at beta; recovery commits alpha after restart', async () => {
      const [a, b] = await pair();
      const before = await readWorld(tc.sandbox);
      const seen = killAt('prepared', 'alpha-primary');
      const result = await tc.db.trades.execute(tradeOf(a, b));
      expect(result).toMatchObject({ crossShard: true, transactionId: seen.gtrid });
      hook = undefined;
      await tc.sandbox.restart('alpha-primary');
      // The prepared branch survived kill -9 with its row locks; XA RECOVER lists it.
      expect((await xaRecover(tc.sandbox, 'alpha-primary')).map((x) => x.gtrid)).toContain(seen.gtrid);
      expect(await decisionOf(tc.sandbox, seen.gtrid!)).toBe('commit');
      await waitPastGrace(seen.gtrid!, GRACE_MS);
      const report = await tc.db.recover();
      expect(report.committed).toContain(`${seen.gtrid}@alpha`);
      await expectSettled(seen.gtrid!, before, traded(before, a, b), 'commit');
    });

    it('move: beta (target) killed after prepare; global decides commit; recovery commits beta after restart', async () => {
      const m = await mover();
      const before = await readWorld(tc.sandbox);
      const seen = killAt('prepared', 'beta-primary');
      const result = await tc.db.characters.moveToDistrict(m.id, 4);
      expect(result).toMatchObject({ shard: 'beta', movedShards: true });
      hook = undefined;
      await restartAndRecover('beta-primary', seen.gtrid!);
      await expectSettled(seen.gtrid!, before, moved(before, m, 'beta'), 'commit');
      expect((await tc.db.characters.get(m.id, { consistency: 'strong' })).shard).toBe('beta');
      // Every item kept its id on the new shard.
      const items = await rowsOn<{ item_id: number }>(
        tc.sandbox,
        'beta-primary',
        'SELECT item_id FROM character_inventory WHERE character_id = ? ORDER BY item_id',
        [m.id],
      );
      expect(items.map((r) => Number(r.item_id))).toEqual(m.items);
    });

    it('trade: alpha killed after the decision; the caller gets success; recovery commits after restart', async () => {
      const [a, b] = await pair();
      const before = await readWorld(tc.sandbox);
      const seen = killAt('decided', 'alpha-primary');
      const result = await tc.db.trades.execute(tradeOf(a, b));
      expect(result.transactionId).toBe(seen.gtrid);
      hook = undefined;
      await restartAndRecover('alpha-primary', seen.gtrid!);
      await expectSettled(seen.gtrid!, before, traded(before, a, b), 'commit');
    });

    it('move: alpha (source) killed after the decision; recovery deletes the old copy after restart', async () => {
      const m = await mover();
      const before = await readWorld(tc.sandbox);
      const seen = killAt('decided', 'alpha-primary');
      await tc.db.characters.moveToDistrict(m.id, 5);
      hook = undefined;
      await restartAndRecover('alpha-primary', seen.gtrid!);
      await expectSettled(seen.gtrid!, before, moved(before, m, 'beta'), 'commit');
    });
  });

  describe('the decision primary killed before the decision', () => {
    it('trade: beta killed at prepared -> typed error naming the transaction; recovery rolls alpha back', async () => {
      const [a, b] = await pair();
      const before = await readWorld(tc.sandbox);
      const seen = killAt('prepared', 'beta-primary');
      const error = await tc.db.trades.execute(tradeOf(a, b)).then(
        () => undefined,
        (e: unknown) => e,
      );
      hook = undefined;
      expect(error).toBeInstanceOf(MxoError);
      expect(error instanceof OutcomeUnknownError || error instanceof ShardUnavailableError).toBe(true);
      if (error instanceof OutcomeUnknownError) expect(error.transactionId).toBe(seen.gtrid);
      expect((error as Error).message).toContain(seen.gtrid);
      // alpha still holds the prepared branch until recovery decides.
      expect((await xaRecover(tc.sandbox, 'alpha-primary')).map((x) => x.gtrid)).toContain(seen.gtrid);
      await restartAndRecover('beta-primary', seen.gtrid!);
      await expectSettled(seen.gtrid!, before, traded(before, a, b), 'abort');
      // The fence: the coordinator can never commit it now.
      expect(await decisionOf(tc.sandbox, seen.gtrid!)).toBe('abort');
    });

    it('move: global killed at prepared -> typed error; recovery rolls both shards back', async () => {
      const m = await mover();
      const before = await readWorld(tc.sandbox);
      const seen = killAt('prepared', 'global-primary');
      const error = await tc.db.characters.moveToDistrict(m.id, 4).then(
        () => undefined,
        (e: unknown) => e,
      );
      hook = undefined;
      expect(error).toBeInstanceOf(MxoError);
      expect((error as Error).message).toContain(seen.gtrid);
      await restartAndRecover('global-primary', seen.gtrid!);
      await expectSettled(seen.gtrid!, before, moved(before, m, 'beta'), 'abort');
      expect((await tc.db.characters.get(m.id, { consistency: 'strong' })).shard).toBe('alpha');
    });
  });

  describe('the coordinating process killed (child process, kill -9)', () => {
    let n = 0;
    const plan = (op: ChildPlan['op'], phase: ChildPlan['phase'], action: ChildPlan['action'] = 'kill'): ChildPlan => ({
      configPath: tc.configPath,
      outFile: path.join(outDir, `child-${n++}.jsonl`),
      op,
      phase,
      action,
    });

    async function crash(p: ChildPlan): Promise<string> {
      const { child, events, stderr } = await runChild(p);
      const at = events.find((e) => e.event === 'phase');
      expect(at, `child never reached ${p.phase}: ${JSON.stringify(events)} ${stderr}`).toBeDefined();
      expect(events.some((e) => e.event === 'result' || e.event === 'error')).toBe(false);
      if (p.action === 'kill') expect(child.signalCode).toBe('SIGKILL');
      return at!.gtrid!;
    }

    for (const [phase, expected] of [
      ['prepared', 'abort'],
      ['decided', 'commit'],
      ['committed_branch', 'commit'],
    ] as const) {
      it(`trade: child killed at ${phase} -> recovery settles it as ${expected}`, async () => {
        const [a, b] = await pair();
        const before = await readWorld(tc.sandbox);
        const gtrid = await crash(plan({ kind: 'trade', ...tradeOf(a, b) }, phase));
        if (phase !== 'committed_branch') {
          expect((await xaRecover(tc.sandbox, 'alpha-primary')).map((x) => x.gtrid)).toContain(gtrid);
        }
        await waitPastGrace(gtrid, GRACE_MS);
        await recoverUntilClean(tc.db, tc.sandbox);
        await expectSettled(gtrid, before, traded(before, a, b), expected);
      });
    }

    for (const [phase, expected] of [
      ['prepared', 'abort'],
      ['decided', 'commit'],
      ['committed_branch', 'commit'],
    ] as const) {
      it(`move: child killed at ${phase} -> recovery settles it as ${expected}`, async () => {
        const m = await mover();
        const before = await readWorld(tc.sandbox);
        const gtrid = await crash(plan({ kind: 'move', characterId: m.id, districtId: 6 }, phase));
        const left = [...(await xaRecover(tc.sandbox, 'alpha-primary')), ...(await xaRecover(tc.sandbox, 'beta-primary'))];
        // During the commits one branch is done and the other still prepared.
        expect(left.filter((x) => x.gtrid === gtrid)).toHaveLength(phase === 'committed_branch' ? 1 : 2);
        await waitPastGrace(gtrid, GRACE_MS);
        const report = await tc.db.recover();
        expect([...report.committed, ...report.rolledBack].filter((l) => l.startsWith(gtrid))).toHaveLength(left.length);
        await recoverUntilClean(tc.db, tc.sandbox);
        await expectSettled(gtrid, before, moved(before, m, 'beta'), expected);
        // The parent's cached route may be stale now; the read detects it and re-resolves.
        expect((await tc.db.characters.get(m.id, { consistency: 'strong' })).shard).toBe(expected === 'commit' ? 'beta' : 'alpha');
      });
    }

    it('trade: child frozen (SIGSTOP) holding a prepared branch -> after grace recovery KILLs its session (1397) and rolls back', async () => {
      const [a, b] = await pair();
      const before = await readWorld(tc.sandbox);
      const p = plan({ kind: 'trade', ...tradeOf(a, b) }, 'prepared', 'stop');
      const { child } = await runChild(p);
      try {
        const gtrid = readChildEvents(p.outFile).find((e) => e.event === 'phase')!.gtrid!;
        const [branch] = (await xaRecover(tc.sandbox, 'alpha-primary')).filter((x) => x.gtrid === gtrid);
        expect(branch).toBeDefined();
        const owner = Number(branch!.bqual.split(':')[1]);
        // Its owner session is alive (the process is only frozen).
        expect(
          await rowsOn(tc.sandbox, 'alpha-primary', 'SELECT id FROM information_schema.PROCESSLIST WHERE id = ?', [owner]),
        ).toHaveLength(1);
        // Young: left alone.
        const early = await tc.db.recover();
        expect(early.pending).toContain(`${gtrid}@alpha`);
        await waitPastGrace(gtrid, GRACE_MS);
        const report = await tc.db.recover();
        expect(report.rolledBack).toContain(`${gtrid}@alpha`);
        expect(
          await rowsOn(tc.sandbox, 'alpha-primary', 'SELECT id FROM information_schema.PROCESSLIST WHERE id = ?', [owner]),
        ).toHaveLength(0);
        await killChild(child);
        await recoverUntilClean(tc.db, tc.sandbox);
        await expectSettled(gtrid, before, traded(before, a, b), 'abort');
      } finally {
        await killChild(child);
      }
    });

    it('trade: child frozen between writing its commit record and committing it -> after grace recovery ends that session and aborts', async () => {
      const [a, b] = await pair();
      const before = await readWorld(tc.sandbox);
      const p = plan({ kind: 'trade', ...tradeOf(a, b) }, 'deciding', 'stop');
      const { child } = await runChild(p);
      try {
        const gtrid = readChildEvents(p.outFile).find((e) => e.event === 'phase')!.gtrid!;
        // Young: left alone (its coordinator is alive and holds the uncommitted commit record).
        expect((await tc.db.recover()).pending).toContain(`${gtrid}@alpha`);
        await waitPastGrace(gtrid, GRACE_MS);
        // The fence waits on the frozen session's record lock; recovery ends that session, the
        // uncommitted commit record rolls back, and the abort fence wins.
        const report = await tc.db.recover();
        expect(report.rolledBack).toContain(`${gtrid}@alpha`);
        await killChild(child);
        await recoverUntilClean(tc.db, tc.sandbox);
        await expectSettled(gtrid, before, traded(before, a, b), 'abort');
      } finally {
        await killChild(child);
      }
    });

    it('move: child frozen after the decision -> recovery KILLs both stale sessions and commits', async () => {
      const m = await mover();
      const before = await readWorld(tc.sandbox);
      const p = plan({ kind: 'move', characterId: m.id, districtId: 4 }, 'decided', 'stop');
      const { child, events } = await runChild(p);
      try {
        const gtrid = events.find((e) => e.event === 'phase')!.gtrid!;
        expect(await decisionOf(tc.sandbox, gtrid)).toBe('commit');
        await waitPastGrace(gtrid, GRACE_MS);
        const report = await tc.db.recover();
        expect(report.committed.sort()).toEqual([`${gtrid}@alpha`, `${gtrid}@beta`]);
        await killChild(child);
        await expectSettled(gtrid, before, moved(before, m, 'beta'), 'commit');
      } finally {
        await killChild(child);
      }
    });
  });
});
