import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  ForbiddenError,
  HandoffInvalidError,
  InvalidStateError,
  MutedError,
  NotFoundError,
  PresenceLostError,
  ValidationError,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Moderation (punishments, appeals, chat flags) and the log reads, against real servers.
let t: TestCluster;
let moderator: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  moderator = (await t.db.accounts.register({ username: 'agent-smith', email: 'smith@machine.example', password: 'mr-anderson' }))
    .accountId;
  await globalSql('UPDATE accounts SET admin_level = 1 WHERE account_id = ?', [moderator]);
});
afterAll(async () => t?.stop());

async function globalSql(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [rows] = await (await t.sql('global-primary')).query<RowDataPacket[]>(sql, params);
  return rows;
}

async function reason(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(AuthError);
  return (e as AuthError).reason;
}

describe('punishments', () => {
  it('a ban ends the sessions, refuses login with its reason (only after the right password), and lifting restores access', async () => {
    const { accountId } = await t.db.accounts.register({
      username: 'ghost-ban',
      email: 'ghost-ban@zion.example',
      password: 'ghost-pass-1',
    });
    const login = { username: 'ghost-ban', password: 'ghost-pass-1', ip: '10.0.0.1' };
    const session = await t.db.accounts.login(login);
    await expect(t.db.moderation.punish({ accountId, type: 'ban', reason: 'x', issuedBy: accountId })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    const { punishmentId, sessionsEnded } = await t.db.moderation.punish({
      accountId,
      type: 'ban',
      reason: 'botting',
      issuedBy: moderator,
    });
    expect(sessionsEnded).toBe(1);
    expect(await reason(t.db.accounts.verifySession(session.sessionToken))).toBe('session_invalid');
    expect(await reason(t.db.accounts.login(login))).toBe('banned');
    expect(await reason(t.db.accounts.login({ ...login, password: 'wrong-pass-1' }))).toBe('bad_credentials');
    expect(await globalSql('SELECT account_status FROM accounts WHERE account_id = ?', [accountId])).toEqual([
      { account_status: 'banned' },
    ]);

    await t.db.moderation.lift(punishmentId);
    expect(await globalSql('SELECT account_status FROM accounts WHERE account_id = ?', [accountId])).toEqual([
      { account_status: 'active' },
    ]);
    await t.db.accounts.login(login);
    await expect(t.db.moderation.lift(999_999)).rejects.toBeInstanceOf(NotFoundError);
    // The seed's issued_by has no ON DELETE: a moderator who issued punishments stays (typed refusal).
    await expect(t.db.accounts.delete(moderator)).rejects.toBeInstanceOf(InvalidStateError);
    expect(await globalSql('SELECT account_id FROM accounts WHERE account_id = ?', [moderator])).toEqual([{ account_id: moderator }]);
  });

  it("a ban ends the account's live presence claim and unused handoff ticket at once, and refuses new ones", async () => {
    const { accountId } = await t.db.accounts.register({ username: 'ghost-world', email: 'ghost-world@zion.example', password: 'ghost-world-1' });
    const create = (name: string) => t.db.characters.create({ accountId, name, archetype: 'spy', gender: 'male', districtId: 1 });
    const { characterId } = await create('Bannedone');
    const { characterId: second } = await create('Bannedtwo');
    const claim = await t.db.presence.claim(characterId, { serverId: 'district-1', districtId: 1 });
    const { ticket } = await t.db.presence.issueHandoff({ accountId, characterId: second, serverId: 'district-1', districtId: 1 });
    const { punishmentId } = await t.db.moderation.punish({ accountId, type: 'ban', reason: 'botting', issuedBy: moderator });

    await expect(t.db.presence.heartbeat(characterId, claim.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    await expect(t.db.presence.assertHolder(characterId, claim.fencingToken)).rejects.toBeInstanceOf(PresenceLostError);
    expect(await t.db.presence.whereIs([characterId])).toEqual([null]);
    await expect(t.db.presence.consumeHandoff(ticket, 'district-1')).rejects.toBeInstanceOf(HandoffInvalidError);
    expect(await reason(t.db.presence.claim(characterId, { serverId: 'district-1', districtId: 1 }))).toBe('banned');
    expect(await reason(t.db.presence.issueHandoff({ accountId, characterId: second, serverId: 'district-1', districtId: 1 }))).toBe('banned');
    expect((await t.db.presence.releaseExpired()).released).toContain(characterId); // and offline on its shard

    await t.db.moderation.lift(punishmentId);
    await t.db.presence.claim(characterId, { serverId: 'district-1', districtId: 1 });
  });

  it('a suspension ends by itself when it expires (database clock)', async () => {
    const { accountId } = await t.db.accounts.register({
      username: 'suspended',
      email: 'suspended@zion.example',
      password: 'suspend-pass',
    });
    const login = { username: 'suspended', password: 'suspend-pass', ip: '10.0.0.2' };
    const { punishmentId } = await t.db.moderation.punish({
      accountId,
      type: 'suspension',
      reason: 'spam',
      issuedBy: moderator,
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const refused = await t.db.accounts.login(login).catch((e: unknown) => e);
    expect(refused).toMatchObject({ reason: 'suspended' });
    expect((refused as Error).message).toMatch(/until \d{4}-/);
    await globalSql('UPDATE account_punishments SET expires_date = NOW() - INTERVAL 1 SECOND WHERE punishment_id = ?', [punishmentId]);
    await t.db.accounts.login(login);
    expect(await globalSql('SELECT account_status FROM accounts WHERE account_id = ?', [accountId])).toEqual([
      { account_status: 'active' },
    ]);
    await expect(
      t.db.moderation.punish({ accountId, type: 'suspension', reason: 'x', issuedBy: moderator, expiresAt: new Date(Date.now() - 60_000) }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('appeals once; an approved appeal lifts the punishment', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'appealer', email: 'appealer@zion.example', password: 'appeal-pass' });
    const { punishmentId } = await t.db.moderation.punish({ accountId, type: 'ban', reason: 'exploit', issuedBy: moderator });
    await t.db.moderation.appeal(punishmentId, 'It was a lag spike');
    await expect(t.db.moderation.appeal(punishmentId, 'again')).rejects.toBeInstanceOf(InvalidStateError);
    await expect(t.db.moderation.decideAppeal(punishmentId, true, accountId)).rejects.toBeInstanceOf(ForbiddenError);
    await t.db.moderation.decideAppeal(punishmentId, true, moderator);
    const [p] = await t.db.moderation.list(accountId, { consistency: 'strong' });
    expect(p).toMatchObject({ punishmentId, appealStatus: 'approved', isActive: false, notes: 'appeal: It was a lag spike' });
    await t.db.accounts.login({ username: 'appealer', password: 'appeal-pass', ip: '10.0.0.3' });
  });
});

describe('chat moderation and log reads', () => {
  it('a mute makes logs.chat refuse; lifting it lets the player speak again', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'mouthy', email: 'mouthy@zion.example', password: 'mouthy-pass' });
    const { characterId } = await t.db.characters.create({ accountId, name: 'Mouthy', archetype: 'spy', gender: 'male', districtId: 1 });
    await t.db.logs.chat({ characterId, channel: 'say', message: 'before', districtId: 1 });
    const { punishmentId } = await t.db.moderation.punish({ accountId, type: 'mute', reason: 'spam', issuedBy: moderator });
    expect(await t.db.moderation.muteStatus(accountId)).toEqual({ muted: true, until: null });
    await expect(t.db.logs.chat({ characterId, channel: 'say', message: 'during', districtId: 1 })).rejects.toBeInstanceOf(MutedError);
    await t.db.moderation.lift(punishmentId);
    await t.db.logs.chat({ characterId, channel: 'say', message: 'after', districtId: 1 });
    await t.db.world.flush();
    const lines = await t.db.logs.chatHistory({ characterId, consistency: 'strong' });
    expect(lines.map((l) => l.message)).toEqual(['after', 'before']);
  });

  it('reads chat across shards with filters and limits, and moderators flag lines', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'chatty', email: 'chatty@zion.example', password: 'chatty-pass' });
    const a = (await t.db.characters.create({ accountId, name: 'ChatA', archetype: 'spy', gender: 'male', districtId: 2 })).characterId;
    const b = (await t.db.characters.create({ accountId, name: 'ChatB', archetype: 'spy', gender: 'male', districtId: 5 })).characterId;
    const since = new Date(Date.now() - 1_000);
    for (let i = 0; i < 3; i++) {
      await t.db.logs.chat({ characterId: a, channel: 'say', message: `alpha ${i}`, districtId: 2 });
      await t.db.logs.chat({ characterId: b, channel: 'crew', message: `beta ${i}`, districtId: 5 });
    }
    await t.db.world.flush();
    const district2 = await t.db.logs.chatHistory({ districtId: 2, consistency: 'strong' });
    expect(district2.map((l) => l.message)).toEqual(['alpha 2', 'alpha 1', 'alpha 0']);
    expect(district2.every((l) => l.shard === 'alpha')).toBe(true);
    const both = (await t.db.logs.chatHistory({ since, limit: 1000, consistency: 'strong' })).filter((l) => [a, b].includes(l.characterId));
    expect(both).toHaveLength(6);
    expect(new Set(both.map((l) => l.shard))).toEqual(new Set(['alpha', 'beta']));
    expect(await t.db.logs.chatHistory({ limit: 2, consistency: 'strong' })).toHaveLength(2);
    expect((await t.db.logs.chatHistory({ channel: 'crew', consistency: 'strong' })).map((l) => l.message)).toEqual([
      'beta 2',
      'beta 1',
      'beta 0',
    ]);
    await expect(t.db.logs.chatHistory({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);

    const target = district2[0]!;
    await expect(t.db.moderation.flagChat(target.messageId, 'warned', accountId, { shard: 'alpha' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(await t.db.moderation.flagChat(target.messageId, 'warned', moderator, { shard: 'alpha' })).toEqual({ shard: 'alpha' });
    const flagged = await t.db.logs.chatHistory({ flaggedOnly: true, consistency: 'strong' });
    expect(flagged).toMatchObject([
      { messageId: target.messageId, shard: 'alpha', isFlagged: true, moderationAction: 'warned', moderatedBy: moderator },
    ]);
    // Message ids are per shard: an id on both shards needs the shard named.
    const beta1 = (await t.db.logs.chatHistory({ districtId: 5, consistency: 'strong' })).at(-1)!;
    const alphaIds = new Set(
      (await t.db.logs.chatHistory({ limit: 1000, consistency: 'strong' })).filter((l) => l.shard === 'alpha').map((l) => l.messageId),
    );
    expect(alphaIds.has(beta1.messageId)).toBe(true);
    await expect(t.db.moderation.flagChat(beta1.messageId, 'deleted', moderator)).rejects.toBeInstanceOf(ValidationError);
    expect(await t.db.moderation.flagChat(beta1.messageId, 'deleted', moderator, { shard: 'beta' })).toEqual({ shard: 'beta' });
    await expect(t.db.moderation.flagChat(987_654, 'deleted', moderator)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reads system logs at or above a level from every shard', async () => {
    await t.db.logs.system({ level: 'INFO', category: 'boot', message: 'district up', districtId: 1 });
    await t.db.logs.system({ level: 'ERROR', category: 'combat', message: 'desync', districtId: 4, data: { tick: 7 } });
    await t.db.logs.system({ level: 'FATAL', category: 'boot', message: 'disk full', districtId: 3 });
    await t.db.world.flush();
    const bad = await t.db.logs.systemLogs({ level: 'ERROR', consistency: 'strong' });
    expect(bad.map((e) => [e.level, e.message, e.shard])).toEqual([
      ['FATAL', 'disk full', 'alpha'],
      ['ERROR', 'desync', 'beta'],
    ]);
    expect(bad[1]!.data).toEqual({ tick: 7 });
    expect((await t.db.logs.systemLogs({ category: 'boot', districtId: 1, consistency: 'strong' })).map((e) => e.message)).toEqual([
      'district up',
    ]);
    await expect(t.db.logs.systemLogs({ level: 'LOUD' as never })).rejects.toBeInstanceOf(ValidationError);
  });
});
