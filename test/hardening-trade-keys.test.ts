import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKeyReusedError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { readWorld, rowsOn } from './support/twopc-invariants.js';
import { seedCharacters } from './support/twopc-world.js';

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
}, 120_000);
afterAll(async () => t?.stop());

describe('trade idempotency keys are bound to the initiator and the request', () => {
  for (const cross of [false, true]) {
    it(`${cross ? 'cross' : 'same'}-shard: another player's trade under the same key is its own trade, not a replay`, async () => {
      const { characters } = await seedCharacters(t.db, {
        districts: cross ? [1, 4] : [1, 2],
        count: 4,
        money: 500,
        itemsEach: 0,
        prefix: 'bk',
      });
      const [a, b, c, d] = characters;
      const key = `shared-${cross}`;
      const first = await t.db.trades.execute({
        initiator: { characterId: a!.id, money: 10 },
        recipient: { characterId: b!.id },
        idempotencyKey: key,
      });
      const theirs = await t.db.trades.execute({
        initiator: { characterId: c!.id, money: 20 },
        recipient: { characterId: d!.id },
        idempotencyKey: key,
      });
      expect(theirs.replayed).toBe(false);
      expect(theirs.tradeId).not.toBe(first.tradeId);
      const world = await readWorld(t.sandbox, [a!.id, b!.id, c!.id, d!.id]);
      expect([a, b, c, d].map((x) => world.money.get(x!.id))).toEqual([490, 510, 480, 520]);
    });
  }

  it('the same key with other content is IdempotencyKeyReusedError and changes nothing', async () => {
    const { characters } = await seedCharacters(t.db, { districts: [1, 4], count: 3, money: 500, itemsEach: 1, prefix: 'rk' });
    const [a, b, c] = characters;
    const key = 'reused-key';
    const input = {
      initiator: { characterId: a!.id, money: 10, itemIds: a!.items },
      recipient: { characterId: b!.id },
      idempotencyKey: key,
    };
    const first = await t.db.trades.execute(input);
    // The same request replays.
    expect(await t.db.trades.execute(input)).toEqual({ ...first, replayed: true });
    const before = await readWorld(t.sandbox, [a!.id, b!.id, c!.id]);
    const other = [
      { ...input, initiator: { ...input.initiator, money: 11 } },
      { ...input, recipient: { characterId: c!.id } },
      { ...input, initiator: { characterId: a!.id, money: 10 } },
      { ...input, recipient: { characterId: b!.id, money: 1 } },
    ];
    for (const request of other) await expect(t.db.trades.execute(request)).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    expect(await readWorld(t.sandbox, [a!.id, b!.id, c!.id])).toEqual(before);
    const sessions = await rowsOn(t.sandbox, `${a!.shard}-primary`, 'SELECT COUNT(*) AS n FROM trade_sessions WHERE initiator_id = ?', [
      a!.id,
    ]);
    expect(Number(sessions[0]!.n)).toBe(1);
  });
});
