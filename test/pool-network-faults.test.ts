/**
 * A connection the network swallows for good (test/support/fault-proxy.ts, `stall`: nothing more
 * is forwarded either way, nothing is closed) must cost a caller no more than its timeouts, and
 * must not keep a pool slot: the failing call gets a typed error, and the next call works. A
 * session the server keeps for a client it cannot hear any more must not keep its row locks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, ConflictError, MxoError, openCluster, OutcomeUnknownError, ShardUnavailableError, type Cluster } from '../src/index.js';
import { idleTransactionTimeoutSec } from '../src/pool/node-pool.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { FaultProxy, throughProxies } from './support/fault-proxy.js';
import { recoverUntilClean, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters, type SeededCharacter } from './support/twopc-world.js';

const STATEMENT_TIMEOUT_MS = 1_500;
const ACQUIRE_TIMEOUT_MS = 1_000;
/** A hang is for ever; a bounded failure here waits a few timeouts. Ample room for a busy machine. */
const BOUND_MS = 10 * STATEMENT_TIMEOUT_MS;

let t: TestCluster;
let alpha: FaultProxy;
/** alpha's primary through the proxy, one connection per node: a slot that leaks shows at once. */
let db: Cluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const node = t.sandbox.node('alpha-primary');
  alpha = await FaultProxy.start(node);
  const config = throughProxies(t.config, new Map([[`${node.host}:${node.port}`, alpha]]));
  expect(JSON.stringify(config.shards)).toContain(`:${alpha.port}/`);
  db = await openCluster({
    ...config,
    pool: { max: 1, connectTimeoutMs: 1_000, acquireTimeoutMs: ACQUIRE_TIMEOUT_MS, downBackoffMs: 100, lockWaitTimeoutSec: 1 },
    twoPhase: { statementTimeoutMs: STATEMENT_TIMEOUT_MS, deadlockRetries: 0 },
  });
}, 120_000);
afterAll(async () => {
  await Promise.race([db?.close(), new Promise((r) => setTimeout(r, 10_000))]);
  await alpha?.close();
  await t?.stop();
});

/** The call's error (or 'ok') and how long it took, or 'hung' past the bound. */
async function timed(call: () => Promise<unknown>): Promise<{ outcome: unknown; ms: number }> {
  const started = performance.now();
  const outcome = await Promise.race([
    call().then(
      () => 'ok',
      (e: unknown) => e,
    ),
    new Promise((r) => setTimeout(() => r('hung'), BOUND_MS)),
  ]);
  return { outcome, ms: performance.now() - started };
}

describe('a connection blackholed for good', () => {
  it('after XA PREPARE is sent: the trade fails typed within its timeouts (its ROLLBACK does not queue behind the lost statement); recovery settles it', async () => {
    const { characters } = await seedCharacters(t.db, { districts: [1, 4], count: 4, money: 100, itemsEach: 0, prefix: 'stallprep' });
    const [a, b, c, d] = characters as [SeededCharacter, SeededCharacter, SeededCharacter, SeededCharacter];
    expect([a.shard, b.shard, c.shard, d.shard]).toEqual(['alpha', 'beta', 'alpha', 'beta']);
    const armed = alpha.arm({ match: 'XA PREPARE', at: 'sent', action: 'stall' });
    const { outcome } = await timed(() => db.trades.execute({ initiator: { characterId: a.id, money: 10 }, recipient: { characterId: b.id } }));
    expect(armed.fired).toHaveLength(1);
    expect(outcome).toBeInstanceOf(ShardUnavailableError);
    // The slot came back: the next trade runs (alpha's pool holds one connection). Other
    // characters: a's row stays locked by the branch until recovery settles it.
    expect((await timed(() => db.trades.execute({ initiator: { characterId: c.id, money: 1 }, recipient: { characterId: d.id } }))).outcome).toBe('ok');
    // The branch may have prepared on alpha; its session is still connected (the proxy holds
    // it): recovery ends that session past the grace period and settles the branch.
    await recoverUntilClean(t.db, t.sandbox, 30_000);
    expect(await xaRecoverAll(t.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
  }, 60_000);

  it('while a statement is being prepared: the call fails typed within its timeout (mysql2 times only the execution) and the slot comes back', async () => {
    const { characters } = await seedCharacters(t.db, { districts: [1], count: 1, money: 100, itemsEach: 0, prefix: 'stallprepare' });
    const cid = characters[0]!.id;
    // A new connection prepares every statement afresh: retire the pooled ones.
    expect(alpha.reset()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    const armed = alpha.arm({ command: 'prepare', at: 'sent', action: 'stall' });
    const first = await timed(() => db.characters.adjustMoney(cid, 1, 'admin_grant'));
    expect(armed.fired).toHaveLength(1);
    expect(first.outcome).toBeInstanceOf(ShardUnavailableError);
    expect((await timed(() => db.characters.adjustMoney(cid, 1, 'admin_grant'))).outcome).toBe('ok');
  }, 60_000);

  it('with its COMMIT unsent: the server ends the session it was left with after the idle transaction timeout, and the rows it locked trade again', async () => {
    const { characters } = await seedCharacters(t.db, { districts: [1, 2], count: 2, money: 100, itemsEach: 0, prefix: 'stallcommit' });
    const [a, b] = characters as [SeededCharacter, SeededCharacter];
    const trade = () => db.trades.execute({ initiator: { characterId: a.id, money: 1 }, recipient: { characterId: b.id } });
    // The COMMIT never leaves the proxy, and neither does the close: on the server the session
    // sits in its transaction, holding both characters' rows.
    const armed = alpha.arm({ match: /^COMMIT$/i, at: 'before', action: 'stall' });
    expect((await timed(trade)).outcome).toBeInstanceOf(OutcomeUnknownError);
    expect(armed.fired).toHaveLength(1);
    // Until the server ends that session, a trade of the same characters waits on its locks.
    const idleTimeoutMs = idleTransactionTimeoutSec({ acquireTimeoutMs: ACQUIRE_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS }) * 1000;
    const until = performance.now() + idleTimeoutMs + BOUND_MS;
    const outcomes: unknown[] = [];
    while (outcomes.at(-1) !== 'ok' && performance.now() < until) outcomes.push((await timed(trade)).outcome);
    expect(outcomes.at(-1)).toBe('ok');
    expect(outcomes.slice(0, -1).every((o) => o instanceof ConflictError)).toBe(true);
  }, 60_000);

  it('while its session is being set up: the acquire fails typed and the slot is not held for ever', async () => {
    const { characters } = await seedCharacters(t.db, { districts: [1], count: 1, money: 100, itemsEach: 0, prefix: 'stallsetup' });
    const cid = characters[0]!.id;
    // Every pooled connection to alpha is retired, so the next call opens a new one.
    expect(alpha.reset()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    const armed = alpha.arm({ match: 'SET SESSION session_track_system_variables', at: 'sent', action: 'stall' });
    const first = await timed(() => db.characters.adjustMoney(cid, 1, 'admin_grant'));
    expect(armed.fired).toHaveLength(1);
    expect(first.outcome).toBeInstanceOf(MxoError);
    expect([AcquireTimeoutError, ShardUnavailableError].some((c) => first.outcome instanceof c)).toBe(true);
    // The network is fine again for new connections; the call after must not find the only slot
    // taken. (First the node's back-off after a failed connection runs out: downBackoffMs.)
    await new Promise((r) => setTimeout(r, 1_000));
    const second = await timed(() => db.characters.adjustMoney(cid, 1, 'admin_grant'));
    expect(second.outcome).toBe('ok');
  }, 60_000);
});
