/**
 * The bank test through a misbehaving network: a fault proxy (test/support/fault-proxy.ts) sits
 * between the library and each primary (global, alpha, beta). Workers run random trades (mostly
 * cross-shard) while faults are injected one at a time: every fault of the schedule once in a
 * shuffled order, then random ones until the duration is up. The schedule: a proxy blackholed
 * for 2-4 s, every packet delayed 2 s one way, every connection reset, the next commands reset
 * mid-statement, half-open either way, and faults aimed at each phase of the two-phase commit
 * (XA END or XA PREPARE cut, XA PREPARE's answer lost, the branch blackholed for good once
 * XA PREPARE is sent, the decision COMMIT lost or answered into the void or blackholed, a
 * branch's XA COMMIT lost or its answer lost), plus a same-shard COMMIT whose session the server
 * keeps. Then the network heals, `db.recover()` runs through the healed proxies, and direct SQL
 * on every server checks: nothing prepared, no session left idling in a transaction, money
 * conserved, every item in exactly one inventory, every reported success committed, no reported
 * (non-unknown) failure committed. Every failure must be an MxoError with a code, and no call
 * may run past a bound made of the configured timeouts (small here, so the test is fast).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError, openCluster, OutcomeUnknownError, type Cluster } from '../src/index.js';
import type { ClusterConfigInput } from '../src/config/schema.js';
import { idleTransactionTimeoutSec } from '../src/pool/node-pool.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { FaultProxy, throughProxies, type ArmedTrigger, type Trigger } from './support/fault-proxy.js';
import { PRIMARIES, readWorld, recoverUntilClean, rowsOn, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters, type SeededCharacter } from './support/twopc-world.js';

/** At least this long, and until every fault of the schedule was injected once. */
const DURATION_MS = Number(process.env.MXO_BANK_FAULTS_MS ?? 25_000);
const WORKERS = 6;
const GRACE_MS = 1_500;
const TIMEOUTS = { acquireTimeoutMs: 1_500, connectTimeoutMs: 1_000, statementTimeoutMs: 4_000 };
/**
 * The longest a call may take: a trade's failing path waits on at most a few bounded things in
 * a row (a statement that times out, the fence on the decision node, a rollback elsewhere, a
 * connection to open), each bounded by a configured timeout; the margin is for a busy machine.
 * A call held by the network past its timeouts takes as long as the fault lasts, or for ever.
 */
const CALL_BOUND_MS = TIMEOUTS.acquireTimeoutMs + 4 * TIMEOUTS.statementTimeoutMs + 5_000;

/** The sessions' idle_transaction_timeout the library derives from these. */
const IDLE_TRANSACTION_TIMEOUT_MS = idleTransactionTimeoutSec(TIMEOUTS) * 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until no primary has a transaction whose session has sat idle (Sleep) for 2 s or more;
 * returns those still there after `timeoutMs`.
 */
async function idleTransactionsGone(sandbox: TestCluster['sandbox'], timeoutMs: number): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const idle: string[] = [];
    for (const node of PRIMARIES) {
      const rows = await rowsOn<{ id: number; locked: number; idle: number }>(
        sandbox,
        node,
        `SELECT p.ID AS id, t.trx_rows_locked AS locked, p.TIME AS idle FROM information_schema.INNODB_TRX t
           JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.COMMAND = 'Sleep' AND p.TIME >= 2`,
      );
      idle.push(...rows.map((r) => `${node} session ${r.id}: ${r.locked} rows locked, idle ${r.idle} s`));
    }
    if (idle.length === 0 || Date.now() > until) return idle;
    await sleep(500);
  }
}

/** One fault from the schedule, applied to one proxy; resolves once it is over. */
interface Fault {
  name: string;
  run(proxy: FaultProxy, node: string): Promise<boolean>;
}

/** A trigger armed until it fires (or 4 s pass); true when it fired. */
function aimed(name: string, trigger: Trigger, nodes: string[]): Fault & { nodes: string[] } {
  return {
    name,
    nodes,
    async run(proxy) {
      const armed = proxy.arm(trigger);
      const until = Date.now() + 4_000;
      while (armed.fired.length === 0 && Date.now() < until) await sleep(20);
      armed.disarm();
      return armed.fired.length > 0;
    },
  };
}

/**
 * A trigger on the decision node's COMMIT: armed by the coordinator's `deciding` hook, right
 * before that COMMIT is sent (so not on a same-shard trade's COMMIT on the same node).
 */
let atDeciding: (() => void) | undefined;
function aimedAtDecision(name: string, trigger: Trigger): Fault & { nodes: string[] } {
  return {
    name,
    nodes: DECISION,
    async run(proxy) {
      let armed: ArmedTrigger | undefined;
      atDeciding = () => {
        armed = proxy.arm(trigger);
        atDeciding = undefined;
      };
      const until = Date.now() + 4_000;
      while (!armed?.fired.length && Date.now() < until) await sleep(20);
      atDeciding = undefined;
      armed?.disarm();
      return (armed?.fired.length ?? 0) > 0;
    },
  };
}

/**
 * The decision record of an alpha-beta trade lives on beta (the last shard of the lock order):
 * alpha holds the XA branch (XA END, XA PREPARE, XA COMMIT), beta the decision COMMIT.
 */
const BRANCH = ['alpha-primary'];
const DECISION = ['beta-primary'];
const FAULTS: Array<Fault & { nodes: string[] }> = [
  {
    name: 'blackhole 3 s',
    nodes: [...PRIMARIES],
    async run(proxy) {
      proxy.set({ kind: 'blackhole' });
      await sleep(2_000 + Math.random() * 2_000);
      proxy.heal();
      return true;
    },
  },
  {
    name: 'delay 2 s',
    nodes: [...PRIMARIES],
    async run(proxy) {
      proxy.set({ kind: 'delay', ms: 2_000, direction: Math.random() < 0.5 ? 'to-server' : 'to-client' });
      await sleep(3_000);
      proxy.heal();
      return true;
    },
  },
  {
    name: 'reset all',
    nodes: [...PRIMARIES],
    async run(proxy) {
      return proxy.reset() > 0;
    },
  },
  // The next three commands of any kind (prepared executions too) are cut once sent.
  aimed('reset mid-statement', { at: 'sent', action: 'reset', times: 3 }, [...PRIMARIES]),
  // Answers lost: the library's statements time out and it drops those connections.
  {
    name: 'half-open, answers lost',
    nodes: [...PRIMARIES],
    async run(proxy) {
      proxy.set({ kind: 'half-open', cut: 'to-client' });
      await sleep(2_000);
      proxy.heal();
      return true;
    },
  },
  // Requests and closes lost: the server keeps the sessions the library gave up on, some in the
  // middle of a transaction that holds row locks (on a shard, where the transactions are).
  {
    name: 'half-open, requests lost',
    nodes: ['alpha-primary', 'beta-primary'],
    async run(proxy) {
      proxy.set({ kind: 'half-open', cut: 'to-server' });
      await sleep(2_000);
      proxy.heal();
      return true;
    },
  },
  aimed('reset once XA END sent', { match: 'XA END', at: 'sent', action: 'reset' }, BRANCH),
  aimed('reset before XA PREPARE', { match: 'XA PREPARE', at: 'before', action: 'reset' }, BRANCH),
  aimed('XA PREPARE answered, answer lost', { match: 'XA PREPARE', at: 'answered', action: 'reset' }, BRANCH),
  aimed('blackhole for good once XA PREPARE sent', { match: 'XA PREPARE', at: 'sent', action: 'stall' }, BRANCH),
  aimedAtDecision('decision COMMIT lost', { match: /^COMMIT$/i, at: 'before', action: 'reset' }),
  aimedAtDecision('decision COMMIT answered, answer lost', { match: /^COMMIT$/i, at: 'answered', action: 'reset' }),
  aimedAtDecision('blackhole for good once decision COMMIT sent', { match: /^COMMIT$/i, at: 'sent', action: 'stall' }),
  // The COMMIT and the close never arrive: the server keeps the session in its transaction.
  // On beta the decision (recovery's fence takes over the commit record's lock); on alpha, where
  // COMMIT only ends same-shard trades, nothing but the server's idle transaction timeout ends it.
  aimedAtDecision('blackhole for good before decision COMMIT', { match: /^COMMIT$/i, at: 'before', action: 'stall' }),
  aimed('blackhole for good before same-shard COMMIT', { match: /^COMMIT$/i, at: 'before', action: 'stall' }, BRANCH),
  aimed('XA COMMIT lost', { match: 'XA COMMIT', at: 'before', action: 'reset' }, BRANCH),
  aimed('XA COMMIT answered, answer lost', { match: 'XA COMMIT', at: 'answered', action: 'reset' }, BRANCH),
];

describe('bank test through a fault proxy: blackholes, delays, resets, half-open sockets, two-phase-commit phases', () => {
  let tc: TestCluster;
  let db: Cluster;
  const proxies = new Map<string, FaultProxy>();

  beforeAll(async () => {
    tc = await startTestCluster({ shards: 2, replicasPerShard: 0 });
    const byAddress = new Map<string, FaultProxy>();
    for (const name of PRIMARIES) {
      const node = tc.sandbox.node(name);
      const proxy = await FaultProxy.start(node);
      proxies.set(name, proxy);
      byAddress.set(`${node.host}:${node.port}`, proxy);
    }
    const config: ClusterConfigInput = {
      ...throughProxies(tc.config, byAddress),
      recovery: { intervalMs: 1_000, gracePeriodMs: GRACE_MS },
      pool: { max: 8, downBackoffMs: 100, connectTimeoutMs: TIMEOUTS.connectTimeoutMs, acquireTimeoutMs: TIMEOUTS.acquireTimeoutMs, lockWaitTimeoutSec: 1 },
      twoPhase: { statementTimeoutMs: TIMEOUTS.statementTimeoutMs, deadlockRetries: 3 },
    };
    for (const proxy of proxies.values()) expect(JSON.stringify(config)).toContain(`:${proxy.port}/`);
    db = await openCluster(config, { hooks: { onPhase: (phase) => void (phase === 'deciding' && atDeciding?.()) } });
  }, 120_000);

  afterAll(async () => {
    // A call the network still holds would keep close() waiting for its connection: bounded.
    await Promise.race([db?.close(), sleep(10_000)]);
    for (const proxy of proxies.values()) await proxy.close();
    await tc?.stop();
  });

  it('conserves money and items, leaves nothing in doubt, types every failure, and no call outlives its timeouts', async () => {
    const { sandbox } = tc;
    const { characters } = await seedCharacters(tc.db, { districts: [1, 4, 2, 5, 3, 6], count: 30, money: 1_000, itemsEach: 3, prefix: 'fault' });
    const ids = characters.map((c) => c.id);
    const start = await readWorld(sandbox, ids);
    expect(start.problems).toEqual([]);

    const owner = new Map(start.items);
    const byShard = (s: string) => characters.filter((c) => c.shard === s);
    const rand = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
    const pickItems = (c: SeededCharacter) =>
      [...owner]
        .filter(([, o]) => o === c.id)
        .map(([i]) => i)
        .filter(() => Math.random() < 0.3)
        .slice(0, 2);

    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const untyped: string[] = [];
    const overran: Array<{ ms: number; outcome: string }> = [];
    const committed: Array<{ tradeId: number; shards: string[] }> = [];
    const inFlight = new Set<{ started: number; input: unknown }>();
    let unknown = 0;
    let longestMs = 0;
    const deadline = Date.now() + DURATION_MS;
    let chaosDone = false;

    const worker = async () => {
      while (!chaosDone) {
        const cross = Math.random() < 0.7;
        const a = rand(characters);
        const b = rand(cross ? byShard(a.shard === 'alpha' ? 'beta' : 'alpha') : byShard(a.shard).filter((c) => c.id !== a.id));
        const give = pickItems(a);
        const take = pickItems(b);
        const input = {
          initiator: { characterId: a.id, money: 1 + Math.floor(Math.random() * 50), itemIds: give },
          recipient: { characterId: b.id, money: Math.random() < 0.5 ? Math.floor(Math.random() * 40) : 0, itemIds: take },
        };
        const call = { started: performance.now(), input };
        inFlight.add(call);
        let outcome: string;
        try {
          const r = await db.trades.execute(input);
          outcome = r.crossShard ? 'ok cross-shard' : 'ok same-shard';
          committed.push({ tradeId: r.tradeId, shards: [...new Set([a.shard, b.shard])] });
          for (const i of give) owner.set(i, b.id);
          for (const i of take) owner.set(i, a.id);
        } catch (error) {
          if (error instanceof OutcomeUnknownError) unknown++;
          outcome = error instanceof MxoError && typeof error.code === 'string' ? error.code : `UNTYPED ${(error as Error)?.constructor?.name}`;
          if (!(error instanceof MxoError)) untyped.push(String((error as Error)?.stack ?? error));
        }
        inFlight.delete(call);
        const ms = performance.now() - call.started;
        longestMs = Math.max(longestMs, ms);
        if (ms > CALL_BOUND_MS) overran.push({ ms: Math.round(ms), outcome });
        count(outcome);
        // A failing node fails fast: do not spin on it.
        if (!outcome.startsWith('ok')) await sleep(20);
      }
    };

    // Every fault once in a shuffled order (an aimed one that found no statement to fire on goes
    // round again), then random ones until the duration is up; a calm gap between faults.
    const injected = new Map<string, number>();
    const chaos = async () => {
      await sleep(1_000);
      const queue = [...FAULTS].sort(() => Math.random() - 0.5).map((fault) => ({ fault, tries: 0 }));
      for (;;) {
        const next = queue.shift() ?? (Date.now() < deadline ? { fault: rand(FAULTS), tries: 2 } : undefined);
        if (!next) break;
        const node = rand(next.fault.nodes);
        if (await next.fault.run(proxies.get(node)!, node)) injected.set(next.fault.name, (injected.get(next.fault.name) ?? 0) + 1);
        else if (++next.tries < 3) queue.push(next);
        await sleep(300 + Math.random() * 500);
      }
      chaosDone = true;
    };

    const chaosEnd = async () => {
      while (!chaosDone) await sleep(100);
    };
    const workers = Promise.all([chaos(), ...Array.from({ length: WORKERS }, worker)]);
    // Every call must end on its own, within its bound, after the last one started.
    const settled = await Promise.race([workers.then(() => true), chaosEnd().then(() => sleep(CALL_BOUND_MS + 5_000)).then(() => false)]);
    const hung = [...inFlight].map((c) => ({ ms: Math.round(performance.now() - c.started), input: c.input }));
    for (const proxy of proxies.values()) proxy.heal();

    const summary = {
      outcomes: Object.fromEntries(outcomes),
      injected: Object.fromEntries(injected),
      longestCallMs: Math.round(longestMs),
      callBoundMs: CALL_BOUND_MS,
      proxies: Object.fromEntries([...proxies].map(([n, p]) => [n, p.stats])),
    };
    console.log('bank test through faults:', JSON.stringify(summary));
    expect(hung, 'calls still waiting long past their timeouts').toEqual([]);
    expect(settled).toBe(true);
    expect(overran, `calls longer than ${CALL_BOUND_MS} ms`).toEqual([]);
    expect(untyped, 'every error must be an MxoError with a code').toEqual([]);
    expect(outcomes.get('ok cross-shard') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('ok same-shard') ?? 0).toBeGreaterThan(0);
    // Every fault of the schedule happened at least once (an aimed one fired on a statement).
    expect([...injected.keys()].sort()).toEqual(FAULTS.map((f) => f.name).sort());

    // Healed: the library settles everything in doubt through the same proxies.
    await sleep(GRACE_MS + 200);
    await recoverUntilClean(db, sandbox);
    expect(await xaRecoverAll(sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });

    // No session the library lost is left holding a transaction open (and its row locks, which
    // block every later trade of those characters): the server ends each one once it has idled
    // past the sessions' idle_transaction_timeout.
    const idleWait = performance.now();
    expect(await idleTransactionsGone(sandbox, IDLE_TRANSACTION_TIMEOUT_MS + 10_000), 'transactions left open by lost sessions').toEqual([]);
    console.log(`bank test through faults: idle transactions gone after ${Math.round(performance.now() - idleWait)} ms (idle_transaction_timeout ${IDLE_TRANSACTION_TIMEOUT_MS} ms)`);
    const end = await readWorld(sandbox, ids);
    expect(end.problems).toEqual([]);
    expect(end.totalMoney, 'money drift').toBe(start.totalMoney);
    expect([...end.items.keys()].sort(), 'items lost or duplicated').toEqual([...start.items.keys()].sort());
    expect([...end.money.values()].every((m) => m >= 0)).toBe(true);

    // Success means committed on every shard the trade touched; a definite failure means not
    // committed (trades on record = successes + at most the calls reported unknown).
    const recorded = new Set<number>();
    for (const shard of ['alpha', 'beta']) {
      const rows = await rowsOn<{ trade_id: number }>(
        sandbox,
        `${shard}-primary`,
        `SELECT trade_id FROM trade_sessions WHERE initiator_id IN (${ids.map(() => '?').join(',')})`,
        ids,
      );
      const have = new Set(rows.map((r) => Number(r.trade_id)));
      for (const id of have) recorded.add(id);
      const missing = committed.filter((t) => t.shards.includes(shard) && !have.has(t.tradeId)).map((t) => t.tradeId);
      expect(missing, `successful trades missing on ${shard}`).toEqual([]);
    }
    const succeeded = new Set(committed.map((c) => c.tradeId));
    const extra = [...recorded].filter((id) => !succeeded.has(id));
    expect(extra.length, `trades on record that reported a definite failure: ${extra.join(', ')}`).toBeLessThanOrEqual(unknown);
  }, 180_000);
});
