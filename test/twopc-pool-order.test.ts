/**
 * A distributed transaction takes one connection from every participant's pool before its work
 * runs, pool after pool in the global lock order (XaTransaction.reserve). Opened on first use
 * instead, the order was the work's: a trade opens alpha then beta, a character moving from beta
 * to alpha opens beta (its source) then alpha. Side by side each could hold one shard's last
 * connection and wait for the other's: a cycle through the pools that only the acquire timeout
 * ended, and a branch holding row locks while it waited stalled everything queued behind them.
 * With one connection per pool, trades and opposite moves side by side must all complete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { pool: { max: 1, acquireTimeoutMs: 2_000 } } });
});
afterAll(async () => t?.stop());

describe('pools taken in the lock order', () => {
  it('cross-shard trades and a character moving between the shards, one connection per pool: none times out', async () => {
    const db = t.db;
    const { accountId } = await db.accounts.register({ username: 'poolorder', password: 'pool-order-pass-1' });
    const make = async (name: string, districtId: number) => {
      const { characterId } = await db.characters.create({ accountId, name, districtId });
      await db.characters.adjustMoney(characterId, 1_000, 'admin_grant');
      return characterId;
    };
    // Pairs across alpha (district 1) and beta (district 4), initiated from either side.
    const pairs = [
      [await make('LeftOne', 1), await make('RightOne', 4)],
      [await make('RightTwo', 4), await make('LeftTwo', 1)],
      [await make('LeftThree', 1), await make('RightThree', 4)],
      [await make('RightFour', 4), await make('LeftFour', 1)],
    ] as const;
    // A traveller going back and forth between beta and alpha beside the trades.
    const traveller = await make('Traveller', 4);
    for (let round = 0; round < 15; round++) {
      const results = await Promise.allSettled([
        ...pairs.map(([from, to]) => db.trades.execute({ initiator: { characterId: from, money: 1 }, recipient: { characterId: to } })),
        db.characters.moveToDistrict(traveller, round % 2 === 0 ? 1 : 4),
      ]);
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(failed.map((f) => `round ${round}: ${String(f.reason)}`)).toEqual([]);
    }
    expect((await db.verify()).violations).toEqual([]);
  }, 120_000);
});
