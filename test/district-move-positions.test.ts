/**
 * Positions streamed while a district moves (issue 26): four workers send positions and trades
 * for the district's characters while it moves four times between shards. After the moves and a
 * flush, every character's stored position is the last `updatePosition` that resolved for it,
 * in the mover's process and in a second process whose directory and placement go stale.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let other: Cluster; // a second process: nothing tells it about the moves
const mine: number[] = []; // district 2, positions sent by the mover's process
const theirs: number[] = []; // district 2, positions sent by the second process
let far: number; // district 4: a trade partner on the other shard

const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];

beforeAll(async () => {
  // The mover is an operator (mxo_migrate); the second process is a game server (mxo_app).
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, as: 'operator' });
  const { accountId } = await t.db.accounts.register({ username: 'stream', email: 'stream@zion.example', password: 'woman-in-red' });
  for (let i = 0; i < 12; i++) {
    const c = await t.db.characters.create({ accountId, name: `Stream${i}`, archetype: 'hacker', gender: 'male', districtId: 2 });
    await t.db.characters.adjustMoney(c.characterId, 100_000, 'admin_grant');
    (i < 8 ? mine : theirs).push(c.characterId);
  }
  far = (await t.db.characters.create({ accountId, name: 'Far', archetype: 'spy', gender: 'female', districtId: 4 })).characterId;
  await t.db.characters.adjustMoney(far, 100_000, 'admin_grant');
  other = await openCluster(t.appConfig);
});
afterAll(async () => {
  await other?.close();
  await t?.stop();
});

describe('positions during live district moves', () => {
  it('every character keeps the last position that resolved, across four moves', async () => {
    const last = new Map<number, number>(); // character -> x of the last updatePosition that resolved
    const failures: unknown[] = [];
    let stop = false;
    let done = 0;
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
    // Worker w sends x = w * 1,000,000 + its step: each value is unique, so a stale row names its sender.
    const worker = async (w: number, db: Cluster, characters: number[]) => {
      let step = 0;
      while (!stop) {
        step++;
        try {
          if (step % 4 === 0) {
            await db.trades.execute({ initiator: { characterId: pick(characters), money: 1 }, recipient: { characterId: far } });
          } else {
            const c = pick(characters);
            const x = w * 1_000_000 + step;
            await db.world.updatePosition(c, { x, y: w, z: step });
            last.set(c, x);
          }
        } catch (error) {
          failures.push(error);
        }
        done++;
      }
    };
    const progress = async (n: number) => {
      const target = done + n;
      while (done < target) await new Promise((r) => setImmediate(r));
    };
    const stale: string[] = [];
    for (const to of ['beta', 'alpha', 'beta', 'alpha']) {
      stop = false;
      const workers = [worker(1, t.db, mine), worker(2, t.db, mine), worker(3, other, theirs), worker(4, other, theirs)];
      try {
        await progress(80);
        await t.db.admin.moveDistrict(2, to);
      } finally {
        // Stopped as soon as the move returns: the last positions are the ones sent around the fence.
        stop = true;
        await Promise.all(workers);
      }
      await t.db.world.flush();
      await other.world.flush();
      const stored = new Map<number, number>();
      for (const node of ['alpha-primary', 'beta-primary'])
        for (const r of await rows(node, 'SELECT character_id, CAST(position_x AS DOUBLE) AS x FROM characters WHERE district_id = 2'))
          stored.set(Number(r.character_id), Number(r.x));
      stale.push(...[...last].filter(([c, x]) => stored.get(c) !== x).map(([c, x]) => `to ${to}: ${c} sent ${x}, stored ${stored.get(c)}`));
    }
    expect(failures).toEqual([]);
    expect(last.size).toBe(12);
    // Read as DOUBLE: a FLOAT column shows 6 significant digits as text (2000141 reads 2000140).
    expect(stale).toEqual([]);
    expect((await t.db.verify()).violations).toEqual([]);
  }, 120_000);
});
