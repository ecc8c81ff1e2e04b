/**
 * The order of buffered positions (issue 26): a failed flush puts its rows back without
 * overwriting positions buffered meanwhile and with its log rows in front; a position carried to
 * another buffer or re-routed after its character moved never overwrites a newer one; a position
 * another process buffered for a character that moved away lands where the character lives now.
 * Each race is made deterministic with a row lock held by hand.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCluster, type Cluster } from '../src/index.js';
import { createMetrics } from '../src/metrics/metrics.js';
import type { NodePool } from '../src/pool/node-pool.js';
import { Directory } from '../src/routing/directory.js';
import { rerouteByDirectory } from '../src/writebehind/position-reroute.js';
import { PositionOrder, WriteBehindBuffer, type LogRow, type PositionReroute } from '../src/writebehind/write-behind-buffer.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let other: Cluster; // a second process
let accountId: number;
let pool: (node: string) => NodePool;
const buffers: WriteBehindBuffer[] = [];

const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];
/** Read as DOUBLE: a FLOAT column shows 6 significant digits as text. */
const positionX = async (node: string, characterId: number) =>
  (await rows(node, 'SELECT CAST(position_x AS DOUBLE) AS x FROM characters WHERE character_id = ?', [characterId]))[0]?.x as
    number | undefined;

/** A buffer with no timer flushes during the test. */
function buffer(shard: string, positions: { order?: PositionOrder; reroute?: PositionReroute } = {}): WriteBehindBuffer {
  const buf = new WriteBehindBuffer(
    shard,
    pool(`${shard}-primary`),
    createMetrics(),
    { flushIntervalMs: 3_600_000, maxQueue: 1_000, maxBatch: 50, backpressureTimeoutMs: 10_000 },
    positions,
  );
  buffers.push(buf);
  return buf;
}

async function character(name: string, districtId = 1): Promise<number> {
  return (await t.db.characters.create({ accountId, name, archetype: 'hacker', gender: 'female', districtId })).characterId;
}

function chat(characterId: number, message: string): LogRow {
  return {
    table: 'chat_logs',
    values: { character_id: characterId, channel_type: 'say', message_content: message, district_id: 1, message_timestamp: new Date() },
  };
}

/** Holds a character's row locked on a connection of its own (an XA branch, prepared) until `release`. */
async function holdRow(node: string, characterId: number, xid: string): Promise<() => Promise<void>> {
  const holder = await t.sql(node);
  await holder.query(`XA START '${xid}'`);
  await holder.query('UPDATE characters SET experience = experience + 1 WHERE character_id = ?', [characterId]);
  await holder.query(`XA END '${xid}'`);
  await holder.query(`XA PREPARE '${xid}'`);
  return async () => void (await holder.query(`XA ROLLBACK '${xid}'`).catch(() => {}));
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await check())) throw new Error('condition not reached');
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  pool = (node) => t.db.pools().find((p) => p.identity.name === node)!;
  ({ accountId } = await t.db.accounts.register({ username: 'order', email: 'order@zion.example', password: 'order-pass-12' }));
  other = await openCluster(t.config);
}, 120_000);
afterAll(async () => {
  for (const b of buffers) await b.close().catch(() => {});
  await other?.close();
  await t?.stop();
});

describe('put-back after a failed flush', () => {
  it('keeps the position buffered meanwhile and puts the unwritten log rows back in front', async () => {
    const c = await character('PutBack');
    const buf = buffer('alpha');
    await buf.setPosition(c, { x: 101, y: 0, z: 0 });
    await buf.appendLog(chat(c, 'first'));
    await buf.appendLog(chat(c, 'second'));
    const release = await holdRow('alpha-primary', c, 'put-back');
    try {
      // The flush takes the rows, then waits on the held row; the connection is killed under it.
      const flushing = buf.flush();
      flushing.catch(() => {}); // its rejection is asserted below, after the kill
      await buf.setPosition(c, { x: 102, y: 0, z: 0 });
      await buf.appendLog(chat(c, 'third'));
      let id: number | undefined;
      await until(async () => {
        const [r] = await rows(
          'alpha-primary',
          "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE characters SET position_x%'",
        );
        id = r?.ID as number | undefined;
        return id !== undefined;
      });
      await (await t.sql('alpha-primary')).query(`KILL CONNECTION ${id}`);
      await expect(flushing).rejects.toThrow();
    } finally {
      await release();
    }
    await buf.flush();
    expect(await positionX('alpha-primary', c)).toBe(102);
    const logs = await rows('alpha-primary', 'SELECT message_content AS m FROM chat_logs WHERE character_id = ? ORDER BY message_id', [c]);
    expect(logs.map((r) => r.m)).toEqual(['first', 'second', 'third']);
  });
});

describe('carried and re-routed positions', () => {
  it('a position carried from another buffer does not overwrite a newer one sent meanwhile', async () => {
    const c = await character('Carried');
    const order = new PositionOrder();
    const from = buffer('alpha', { order });
    const to = buffer('alpha', { order });
    await from.setPosition(c, { x: 201, y: 0, z: 0 });
    const taken = from.takePositions([c]);
    await to.setPosition(c, { x: 202, y: 0, z: 0 }); // sent after: newer
    to.carry(taken);
    await to.flush();
    expect(await positionX('alpha-primary', c)).toBe(202);
  });

  it('a re-routed position does not overwrite a newer one already written where the character lives', async () => {
    const c = await character('Rerouted');
    await t.db.characters.moveToDistrict(c, 4); // beta: its row is not on alpha any more
    const order = new PositionOrder();
    const directory = new Directory(pool('global-primary'));
    const beta = buffer('beta', { order });
    const reroute = rerouteByDirectory(directory, (shard) => (shard === 'beta' ? beta : undefined));
    const alpha = buffer('alpha', {
      order,
      // While the old position is being re-routed, a newer one is sent and written on beta.
      reroute: async (from, gone) => {
        await beta.setPosition(c, { x: 302, y: 0, z: 0 });
        await beta.flush();
        return reroute(from, gone);
      },
    });
    await alpha.setPosition(c, { x: 301, y: 0, z: 0 }); // a stale route: the row left alpha
    await alpha.flush();
    await beta.flush();
    expect(await positionX('beta-primary', c)).toBe(302);
    expect(alpha.depth + beta.depth).toBe(0);
  });

  it('a second process with a stale route: its position lands on the shard the character moved to', async () => {
    const c = await character('Elsewhere');
    await other.world.updatePosition(c, { x: 401, y: 0, z: 0 }); // `other` caches alpha
    await other.world.flush();
    expect(await positionX('alpha-primary', c)).toBe(401);
    await t.db.characters.moveToDistrict(c, 4);
    await other.world.updatePosition(c, { x: 402, y: 0, z: 0 }); // buffered for alpha, where the row is gone
    await other.world.flush();
    expect(await positionX('beta-primary', c)).toBe(402);
    // Its route is read again: the next one goes straight to beta.
    await other.world.updatePosition(c, { x: 403, y: 0, z: 0 });
    await other.world.flush();
    expect(await positionX('beta-primary', c)).toBe(403);
  });

  it('closing a process writes the positions its last flush re-routed', async () => {
    const c = await character('Closing');
    const third = await openCluster(t.config);
    try {
      await third.world.updatePosition(c, { x: 451, y: 0, z: 0 }); // caches alpha
      await third.world.flush();
      await t.db.characters.moveToDistrict(c, 4);
      await third.world.updatePosition(c, { x: 452, y: 0, z: 0 }); // buffered for alpha
    } finally {
      // beta's buffer (empty) closes at once; alpha's final flush then re-routes to it.
      await third.close();
    }
    expect(await positionX('beta-primary', c)).toBe(452);
  });

  it('a flush that cannot read the new route keeps the position for the next flush', async () => {
    const c = await character('Unplaced');
    await t.db.characters.moveToDistrict(c, 4);
    let refuse = true;
    const order = new PositionOrder();
    const beta = buffer('beta', { order });
    const reroute = rerouteByDirectory(new Directory(pool('global-primary')), (shard) => (shard === 'beta' ? beta : undefined));
    const alpha = buffer('alpha', { order, reroute: async (from, gone) => (refuse ? gone : reroute(from, gone)) });
    await alpha.setPosition(c, { x: 501, y: 0, z: 0 });
    await alpha.flush();
    expect(alpha.depth).toBe(1);
    refuse = false;
    await alpha.flush();
    await beta.flush();
    expect(await positionX('beta-primary', c)).toBe(501);
  });
});
