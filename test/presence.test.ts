import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandoffInvalidError, PresenceHeldError, PresenceLostError, ForbiddenError, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const CHILD = fileURLToPath(new URL('./support/presence-child.ts', import.meta.url));

let t: TestCluster;
let accountId: number;
let otherAccount: number;
let seq = 0;

async function newCharacter(districtId = 1, account = accountId): Promise<number> {
  seq++;
  return (await t.db.characters.create({ accountId: account, name: `Presence${seq}`, archetype: 'hacker', gender: 'male', districtId }))
    .characterId;
}

async function shardRow(
  characterId: number,
  node = 'alpha-primary',
): Promise<{ is_online: number; presence_token: number | null } & RowDataPacket> {
  const [rows] = await (
    await t.sql(node)
  ).query<RowDataPacket[]>('SELECT is_online, presence_token, position_x FROM characters WHERE character_id = ?', [characterId]);
  return rows[0] as never;
}

/** Makes a claim lapse by the database's clock, without waiting. */
async function expire(characterId: number): Promise<void> {
  await (
    await t.sql('global-primary')
  ).query('UPDATE presence_claims SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE character_id = ?', [characterId]);
}

beforeAll(async () => {
  // Buffers flush only when a test says so: a timer flush between a buffered write and a takeover
  // would land the write legitimately (the claim was still A's) and race the assertions.
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, config: { writeBehind: { flushIntervalMs: 600_000 } } });
  accountId = (await t.db.accounts.register({ username: 'sentinel', email: 'sentinel@zion.example', password: 'squiddy-pass-1' }))
    .accountId;
  otherAccount = (await t.db.accounts.register({ username: 'smith', email: 'smith@machine.example', password: 'mr-anderson-1' })).accountId;
}, 120_000);
afterAll(async () => t?.stop());

describe('presence claims', () => {
  it('one holder at a time; the refusal names the holder; is_online follows the claim', async () => {
    const cid = await newCharacter(1);
    const claim = await t.db.presence.claim(cid, { serverId: 'district-1', districtId: 1, ttlSec: 30 });
    expect(claim.fencingToken).toBe(1);
    expect(claim.expiresAt.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(await shardRow(cid)).toMatchObject({ is_online: 1, presence_token: 1 });
    const refused = await t.db.presence.claim(cid, { serverId: 'district-2', districtId: 2 }).catch((e) => e);
    expect(refused).toBeInstanceOf(PresenceHeldError);
    expect(refused).toMatchObject({ code: 'PRESENCE_HELD', characterId: cid, holder: { serverId: 'district-1', districtId: 1 } });
    expect(refused.message).toContain('district-1');
    expect(await shardRow(cid)).toMatchObject({ presence_token: 1 }); // the refusal wrote nothing
    expect((await t.db.characters.get(cid)).isOnline).toBe(true);

    const { expiresAt } = await t.db.presence.heartbeat(cid, claim.fencingToken, { ttlSec: 60 });
    expect(expiresAt.getTime()).toBeGreaterThan(claim.expiresAt.getTime());
    await expect(t.db.presence.heartbeat(cid, claim.fencingToken + 1)).rejects.toBeInstanceOf(PresenceLostError);

    await t.db.presence.release(cid, claim.fencingToken);
    expect(await shardRow(cid)).toMatchObject({ is_online: 0, presence_token: null });
    expect(await t.db.presence.whereIs([cid])).toEqual([null]);
    await expect(t.db.presence.release(cid, claim.fencingToken)).rejects.toMatchObject({ code: 'PRESENCE_LOST' });
    await expect(t.db.presence.heartbeat(cid, claim.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    // Free again: the next claim gets a larger token.
    const again = await t.db.presence.claim(cid, { serverId: 'district-2', districtId: 2 });
    expect(again.fencingToken).toBe(2);
  });

  it('an expired claim is taken over (by the database clock) with a new token; the old holder is fenced', async () => {
    const cid = await newCharacter(4);
    const a = await t.db.presence.claim(cid, { serverId: 'district-a', districtId: 4 });
    await expect(t.db.presence.claim(cid, { serverId: 'district-b', districtId: 5 })).rejects.toBeInstanceOf(PresenceHeldError);
    await expect(t.db.presence.assertHolder(cid, a.fencingToken)).resolves.toMatchObject({ serverId: 'district-a' });
    // A fenced position buffered under A's claim, not flushed yet.
    await t.db.world.updatePosition(cid, { x: 11, y: 0, z: 0 }, { fencingToken: a.fencingToken });
    await expire(cid);
    expect(await t.db.presence.whereIs([cid])).toEqual([null]);
    await expect(t.db.presence.heartbeat(cid, a.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    const b = await t.db.presence.claim(cid, { serverId: 'district-b', districtId: 5 });
    expect(b.fencingToken).toBe(a.fencingToken + 1);
    expect(await shardRow(cid, 'beta-primary')).toMatchObject({ is_online: 1, presence_token: b.fencingToken });
    // A's buffered write reaches the shard after the takeover: it matches nothing.
    await t.db.world.flush();
    expect((await shardRow(cid, 'beta-primary')).position_x).toBe(0);
    // A's new writes are refused at once; B's land.
    await expect(t.db.world.updatePosition(cid, { x: 12, y: 0, z: 0 }, { fencingToken: a.fencingToken })).rejects.toMatchObject({
      code: 'PRESENCE_LOST',
    });
    await expect(t.db.presence.assertHolder(cid, a.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(t.db.presence.release(cid, a.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    await t.db.world.updatePosition(cid, { x: 13, y: 0, z: 0 }, { fencingToken: b.fencingToken });
    await t.db.world.flush();
    expect((await shardRow(cid, 'beta-primary')).position_x).toBe(13);
  });

  it('release flushes the last fenced position before the claim goes', async () => {
    const cid = await newCharacter(2);
    const claim = await t.db.presence.claim(cid, { serverId: 'district-1', districtId: 2 });
    await t.db.world.updatePosition(cid, { x: 42, y: 1, z: 2 }, { fencingToken: claim.fencingToken });
    await t.db.presence.release(cid, claim.fencingToken);
    expect(await shardRow(cid)).toMatchObject({ is_online: 0, presence_token: null, position_x: 42 });
  });

  it('whereIs answers for many characters in one read; releaseAll frees a crashed server', async () => {
    const ids = [await newCharacter(1), await newCharacter(4), await newCharacter(5), await newCharacter(3)];
    await t.db.presence.claim(ids[0]!, { serverId: 'crashy', districtId: 1 });
    await t.db.presence.claim(ids[1]!, { serverId: 'crashy', districtId: 4 });
    const kept = await t.db.presence.claim(ids[2]!, { serverId: 'steady', districtId: 5 });
    const where = await t.db.presence.whereIs(ids);
    expect(where.map((w) => w && [w.characterId, w.serverId, w.districtId])).toEqual([
      [ids[0], 'crashy', 1],
      [ids[1], 'crashy', 4],
      [ids[2], 'steady', 5],
      null,
    ]);
    expect(await t.db.presence.releaseAll('crashy')).toEqual({ released: [ids[0], ids[1]] });
    expect((await t.db.presence.whereIs(ids)).map((w) => w?.serverId ?? null)).toEqual([null, null, 'steady', null]);
    expect(await shardRow(ids[0]!)).toMatchObject({ is_online: 0, presence_token: null });
    expect(await shardRow(ids[1]!, 'beta-primary')).toMatchObject({ is_online: 0, presence_token: null });
    expect(await shardRow(ids[2]!, 'beta-primary')).toMatchObject({ is_online: 1, presence_token: kept.fencingToken });
    expect(await t.db.presence.releaseAll('crashy')).toEqual({ released: [] });
    await expect(t.db.presence.whereIs([0])).rejects.toBeInstanceOf(ValidationError);
    expect(await t.db.presence.whereIs([])).toEqual([]);
  });

  it('releaseExpired makes is_online follow claims that lapsed without a takeover', async () => {
    const lapsed = await newCharacter(2);
    const live = await newCharacter(5);
    const a = await t.db.presence.claim(lapsed, { serverId: 'gone', districtId: 2 });
    await t.db.presence.claim(live, { serverId: 'here', districtId: 5 });
    await expire(lapsed);
    expect(await shardRow(lapsed)).toMatchObject({ is_online: 1 }); // nobody has noticed yet
    const { released } = await t.db.presence.releaseExpired();
    expect(released).toContain(lapsed);
    expect(released).not.toContain(live);
    expect(await shardRow(lapsed)).toMatchObject({ is_online: 0, presence_token: null });
    expect(await shardRow(live, 'beta-primary')).toMatchObject({ is_online: 1 });
    await expect(t.db.presence.heartbeat(lapsed, a.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    expect((await t.db.presence.releaseExpired()).released).not.toContain(lapsed);
  });

  it('follows a character that moved to another shard', async () => {
    const cid = await newCharacter(1);
    await t.db.characters.moveToDistrict(cid, 6);
    const claim = await t.db.presence.claim(cid, { serverId: 'district-6', districtId: 6 });
    expect(await shardRow(cid, 'beta-primary')).toMatchObject({ is_online: 1, presence_token: claim.fencingToken });
    await t.db.presence.release(cid, claim.fencingToken);
    expect(await shardRow(cid, 'beta-primary')).toMatchObject({ is_online: 0 });
  });

  it('validates before any SQL', async () => {
    await expect(t.db.presence.claim(1, { serverId: '', districtId: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.presence.claim(1, { serverId: 'x'.repeat(65), districtId: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.presence.claim(1, { serverId: 's', districtId: 1, ttlSec: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.presence.claim(1, { serverId: 's', districtId: 99 })).rejects.toMatchObject({ code: 'UNKNOWN_DISTRICT' });
    await expect(t.db.presence.heartbeat(1, 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.world.updatePosition(1, { x: 0, y: 0, z: 0 }, { fencingToken: -1 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('handoff tickets', () => {
  it('is consumed once, on its server, and claims the character there; only its hash is stored', async () => {
    const cid = await newCharacter(2);
    const { ticket, expiresAt } = await t.db.presence.issueHandoff({ accountId, characterId: cid, serverId: 'district-2', districtId: 2 });
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
    const [stored] = await (
      await t.sql('global-primary')
    ).query<RowDataPacket[]>('SELECT HEX(ticket_hash) AS h, SHA2(?, 256) AS expected FROM presence_handoffs WHERE character_id = ?', [
      ticket,
      cid,
    ]);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.h.toLowerCase()).toBe(stored[0]!.expected);
    await expect(t.db.presence.consumeHandoff(ticket, 'district-3')).rejects.toMatchObject({ reason: 'wrong_server' });
    const entry = await t.db.presence.consumeHandoff(ticket, 'district-2');
    expect(entry).toMatchObject({ accountId, characterId: cid, districtId: 2, claim: { fencingToken: 1 } });
    expect(await shardRow(cid)).toMatchObject({ is_online: 1, presence_token: 1 });
    const again = await t.db.presence.consumeHandoff(ticket, 'district-2').catch((e) => e);
    expect(again).toBeInstanceOf(HandoffInvalidError);
    expect(again.reason).toBe('consumed');
    await expect(t.db.presence.consumeHandoff('not-a-ticket', 'district-2')).rejects.toMatchObject({ reason: 'unknown' });
  });

  it('refuses expired tickets, strangers, and a held character; transfers a claim it names', async () => {
    const cid = await newCharacter(1);
    await expect(
      t.db.presence.issueHandoff({ accountId: otherAccount, characterId: cid, serverId: 'district-1', districtId: 1 }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    const late = await t.db.presence.issueHandoff({ accountId, characterId: cid, serverId: 'district-1', districtId: 1 });
    await (
      await t.sql('global-primary')
    ).query('UPDATE presence_handoffs SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE character_id = ?', [cid]);
    await expect(t.db.presence.consumeHandoff(late.ticket, 'district-1')).rejects.toMatchObject({ reason: 'expired' });

    const held = await t.db.presence.claim(cid, { serverId: 'district-1', districtId: 1 });
    await expect(t.db.presence.issueHandoff({ accountId, characterId: cid, serverId: 'district-4', districtId: 4 })).rejects.toBeInstanceOf(
      PresenceHeldError,
    );
    // A move between servers: the ticket names the current claim and takes it over when consumed.
    const move = await t.db.presence.issueHandoff({
      accountId,
      characterId: cid,
      serverId: 'district-4',
      districtId: 4,
      fencingToken: held.fencingToken,
    });
    const moved = await t.db.presence.consumeHandoff(move.ticket, 'district-4');
    expect(moved.claim.fencingToken).toBe(held.fencingToken + 1);
    expect((await t.db.presence.whereIs([cid]))[0]).toMatchObject({ serverId: 'district-4', districtId: 4 });
    await expect(t.db.presence.heartbeat(cid, held.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    // A transfer ticket for a claim that changed since is refused.
    const stale = await t.db.presence
      .issueHandoff({ accountId, characterId: cid, serverId: 'district-5', districtId: 5, fencingToken: held.fencingToken })
      .catch((e) => e);
    expect(stale).toBeInstanceOf(PresenceLostError);
  });
});

describe('two district servers, one killed', () => {
  function startServer(serverId: string, ids: number[], ttlSec: number) {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, t.configPath, serverId, JSON.stringify(ids), String(ttlSec)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const lines: Array<Record<string, any>> = [];
    const listeners: Array<() => void> = [];
    let stderr = '';
    let buffer = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      buffer += c.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
      listeners.splice(0).forEach((l) => l());
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    /** Resolves when some line satisfies `test`; rejects if the child ends first or after `ms`. */
    const until = (test: (l: Record<string, any>) => boolean, ms = 30_000) =>
      new Promise<Record<string, any>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${serverId}: timed out; stderr: ${stderr}`)), ms);
        const check = () => {
          const hit = lines.find(test);
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`${serverId} ended: ${stderr}`));
          } else listeners.push(check);
        };
        check();
      });
    return { child, lines, until, exited, go: () => child.stdin!.write('go\n') };
  }

  it('nothing is held twice; the survivor takes over after the TTL; the dead server is fenced', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push(await newCharacter(i % 2 ? 4 : 1));
    const ttlSec = 2;
    const a = startServer('server-a', ids, ttlSec);
    const b = startServer('server-b', ids, ttlSec);
    try {
      await Promise.all([a.until((l) => l.event === 'ready', 60_000), b.until((l) => l.event === 'ready', 60_000)]);
      a.go();
      b.go();
      // Both claim all eight at once; each character goes to exactly one of them.
      const [ra, rb] = await Promise.all([a.until((l) => l.event === 'round'), b.until((l) => l.event === 'round')]);
      const heldA: number[] = ra.held;
      const heldB: number[] = rb.held;
      expect([...heldA, ...heldB].sort((x, y) => x - y)).toEqual(ids);
      expect(heldA.filter((id) => heldB.includes(id))).toEqual([]);
      const victim = heldA.length > 0 ? a : b;
      const survivor = victim === a ? b : a;
      const victimId = victim === a ? 'server-a' : 'server-b';
      const victimHeld = victim === a ? heldA : heldB;
      expect(victimHeld.length).toBeGreaterThan(0);
      const victimToken = new Map(
        victim.lines.filter((l) => l.event === 'claim').map((l) => [l.characterId as number, l.fencingToken as number]),
      );

      victim.child.kill('SIGKILL');
      await victim.exited;
      // The dead server's claims as they stand (the last heartbeat's expiry, by the database's clock).
      const global = await t.sql('global-primary');
      const [before] = await global.query<RowDataPacket[]>(
        `SELECT character_id, server_id, expires_at, fencing_token FROM presence_claims WHERE character_id IN (${ids.join(',')})`,
      );
      const lastExpiry = new Map<number, Date>();
      for (const r of before) if (r.server_id === victimId) lastExpiry.set(Number(r.character_id), r.expires_at);
      expect([...lastExpiry.keys()].sort((x, y) => x - y)).toEqual(victimHeld);

      // The survivor gets them all, each only after the dead server's claim expired.
      await survivor.until((l) => l.event === 'round' && l.held.length === ids.length, 30_000);
      const [after] = await global.query<RowDataPacket[]>(
        `SELECT character_id, server_id, claimed_at, fencing_token FROM presence_claims WHERE character_id IN (${ids.join(',')})`,
      );
      const survivorId = victimId === 'server-a' ? 'server-b' : 'server-a';
      for (const r of after) {
        expect(r.server_id).toBe(survivorId);
        const expiry = lastExpiry.get(Number(r.character_id));
        if (expiry) expect((r.claimed_at as Date).getTime()).toBeGreaterThanOrEqual(expiry.getTime());
      }
      // Every take-over of a victim's character happened after the TTL, and on the shard is_online follows.
      for (const cid of victimHeld) {
        const row = await shardRow(cid, ids.indexOf(cid) % 2 ? 'beta-primary' : 'alpha-primary');
        expect(row.is_online).toBe(1);
        expect(Number(row.presence_token)).toBe(victimToken.get(cid)! + 1);
        // A write from the dead server's token is refused; the survivor's goes through.
        await expect(t.db.world.updatePosition(cid, { x: 1, y: 2, z: 3 }, { fencingToken: victimToken.get(cid)! })).rejects.toBeInstanceOf(
          PresenceLostError,
        );
        await t.db.world.updatePosition(cid, { x: 1, y: 2, z: 3 }, { fencingToken: Number(row.presence_token) });
      }
      // Nobody else lost a claim along the way.
      expect(survivor.lines.filter((l) => l.event === 'lost')).toEqual([]);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await Promise.all([a.exited, b.exited]);
    }
  }, 120_000);
});
