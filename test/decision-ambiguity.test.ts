/**
 * The ambiguous commit point of a two-phase commit: the decision node's COMMIT (which commits
 * the commit record with that node's branch) is lost, or its acknowledgement is, through a proxy
 * in front of the decision node. Whatever the caller was told (committed, a typed abort, or
 * OutcomeUnknownError) must agree with the decision record, and after recover() every branch
 * follows the record: the money moved on both shards exactly when the record says commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, OutcomeUnknownError, openCluster, type Cluster } from '../src/index.js';
import { FaultProxy, type ArmedTrigger, type CutPoint } from './support/fault-proxy.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { decisionOf, readWorld, recoverUntilClean, xaRecoverAll } from './support/twopc-invariants.js';
import { seedCharacters } from './support/twopc-world.js';

let t: TestCluster;
let proxy: FaultProxy;
/** The decision node's COMMIT lost on its way ('before') or its acknowledgement lost ('answered'). */
type CommitFault = Extract<CutPoint, 'before' | 'answered'>;
let armed: ArmedTrigger | undefined;
/** A cluster handle whose beta primary (the decision node of alpha-beta trades) is behind the proxy. */
let db: Cluster;
let armOnDeciding: CommitFault | undefined;
let refuseAfterFault = false;
/** The gtrid of the transaction that reached its commit point last (from the hook). */
let decidingGtrid: string | undefined;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  const beta = t.sandbox.node('beta-primary');
  proxy = await FaultProxy.start({ host: beta.host, port: beta.port });
  const shards = t.config.shards!.map((s) =>
    s.name === 'beta' ? { ...s, primary: String(s.primary).replace(`:${beta.port}/`, `:${proxy.port}/`) } : s,
  );
  expect(JSON.stringify(shards)).toContain(`:${proxy.port}/`);
  db = await openCluster(
    { ...t.config, shards, pool: { connectTimeoutMs: 1_000, acquireTimeoutMs: 2_000, downBackoffMs: 100 } },
    {
      hooks: {
        // Armed right before the decision node's COMMIT: the next COMMIT through the proxy is it.
        onPhase: (phase, info) => {
          if (phase === 'deciding') decidingGtrid = info.gtrid;
          if (phase === 'deciding' && armOnDeciding) {
            armed = proxy.arm({ match: /^COMMIT$/i, at: armOnDeciding, action: 'close' });
            armOnDeciding = undefined;
            if (refuseAfterFault) proxy.refuseNew = true;
          }
        },
      },
    },
  );
});
afterAll(async () => {
  await db?.close();
  await proxy?.close();
  await t?.stop();
});

async function scenario(fault: CommitFault, refuse: boolean) {
  const { characters } = await seedCharacters(t.db, { districts: [1, 4], count: 2, money: 1_000, itemsEach: 0, prefix: `amb${fault}` });
  const [a, b] = characters as [(typeof characters)[0], (typeof characters)[0]];
  expect([a.shard, b.shard]).toEqual(['alpha', 'beta']);
  armOnDeciding = fault;
  decidingGtrid = undefined;
  armed = undefined;
  refuseAfterFault = refuse;
  const outcome = await db.trades
    .execute({ initiator: { characterId: a.id, money: 100 }, recipient: { characterId: b.id, money: 0 } })
    .then(
      (r) => ({ ok: r }),
      (e: unknown) => ({ error: e }),
    );
  proxy.refuseNew = false;
  // Assigned in the hook, which TypeScript's flow analysis cannot see.
  expect((armed as ArmedTrigger | undefined)?.fired).toEqual(['COMMIT']);
  // Settle whatever is in doubt (from a handle that reaches beta directly), then read the record.
  // Until clean: the coordinator's closed sessions may still be ending on the servers (a branch
  // whose session is still connected and young is left alone, rightly).
  await recoverUntilClean(t.db, t.sandbox);
  expect(await xaRecoverAll(t.sandbox)).toEqual({ 'global-primary': [], 'alpha-primary': [], 'beta-primary': [] });
  const gtrid = decidingGtrid!;
  // The caller's handle names the same transaction, when it names one.
  if ('ok' in outcome) expect(outcome.ok.transactionId).toBe(gtrid);
  if ('error' in outcome && outcome.error instanceof OutcomeUnknownError) expect(outcome.error.transactionId).toBe(gtrid);
  const record = await decisionOf(t.sandbox, gtrid);
  const world = await readWorld(t.sandbox, [a.id, b.id]);
  const moved = world.money.get(a.id) === 900 && world.money.get(b.id) === 1_100;
  const unchanged = world.money.get(a.id) === 1_000 && world.money.get(b.id) === 1_000;
  return { outcome, record, moved, unchanged };
}

describe('ambiguous commit at the decision node', () => {
  it('acknowledgement lost: the coordinator reads the record through the fence and reports committed; all branches committed', async () => {
    const { outcome, record, moved } = await scenario('answered', false);
    expect('ok' in outcome ? 'committed' : outcome.error).toBe('committed');
    expect(record).toBe('commit');
    expect(moved).toBe(true);
  });

  it('COMMIT lost: the fence records abort, the caller gets a typed abort, nothing moved', async () => {
    const { outcome, record, unchanged } = await scenario('before', false);
    expect('error' in outcome && outcome.error).toBeInstanceOf(ConflictError);
    expect(record).toBe('abort');
    expect(unchanged).toBe(true);
  });

  it('acknowledgement lost and the decision node unreachable: OutcomeUnknownError, then recovery commits as recorded', async () => {
    const { outcome, record, moved } = await scenario('answered', true);
    expect('error' in outcome && outcome.error).toBeInstanceOf(OutcomeUnknownError);
    expect(record).toBe('commit');
    expect(moved).toBe(true);
  });

  it('COMMIT lost and the decision node unreachable: OutcomeUnknownError, then recovery aborts (no record was committed)', async () => {
    const { outcome, record, unchanged } = await scenario('before', true);
    expect('error' in outcome && outcome.error).toBeInstanceOf(OutcomeUnknownError);
    expect(record).toBe('abort');
    expect(unchanged).toBe(true);
  });
});
