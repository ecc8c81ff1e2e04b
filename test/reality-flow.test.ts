/**
 * Contract part four: Reality's (rajkosto/mxoemu @ada4951a) account and character flow replayed
 * against real servers, each step named after the emulator code it stands for:
 * - console `createAccount` (AuthServer.cpp:486 CreateAccount: getAccountIdForUsername, then an
 *   INSERT without any email) -> byUsername + register without email;
 * - console `changePassword` (AuthServer.cpp:501 ChangePassword) -> byUsername + setPassword;
 * - an account carried over from a Reality database (`users.passwordSalt`, `passwordHash`) ->
 *   importLegacy({ kind: 'reality' });
 * - console `createWorld`, `createCharacter` (AuthServer.cpp:522-565) -> worlds.register,
 *   findByName, characters.create, worlds.assignCharacter;
 * - the auth server's login (AuthSocket.cpp:262 user row, :420 VerifyPassword), character list
 *   (:523) and world list (:583) -> login, roster, worlds.list;
 * - the margin server's user and character checks (MarginSocket.cpp:231, :412) -> byUsername, identity;
 * - the world server's load (PlayerObject.cpp:57 loadFromDB: names, x, y, z, rot, vitals, level,
 *   profession, alignment, pvpflag, exp, cash, district, adminFlags) -> spawn after the handoff;
 * - its periodic save (PlayerObject.cpp:215 saveDataToDB: x, y, z, rot) -> save, fenced; logout.
 * Every stored value is checked with plain SQL.
 */
import { createHash } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, PresenceLostError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
type Node = 'global-primary' | 'alpha-primary' | 'beta-primary';
beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

const conns = new Map<string, Connection>();
async function one(node: Node, text: string, params: unknown[] = []): Promise<RowDataPacket> {
  if (!conns.has(node)) conns.set(node, await t.sql(node));
  return (await conns.get(node)!.query<RowDataPacket[]>(text, params))[0][0]!;
}

/** Reality's AuthServer::HashPassword (AuthServer.cpp:458), written out apart from src/crypto. */
const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');
const realityHash = (salt: string, password: string) => sha1(sha1(salt) + sha1(password));

describe("Reality's account and character flow", () => {
  it('console account, password set, login, character list, load and save, every value stored as expected', async () => {
    const db = t.db;

    // Console: createAccount. Reality looks the name up first, then inserts without an email.
    expect(await db.accounts.byUsername('thomas')).toBeNull();
    const { accountId } = await db.accounts.register({ username: 'thomas', password: 'first-password' });
    const created = await one(
      'global-primary',
      'SELECT username, email, password_hash, account_status, admin_level, created_date FROM accounts WHERE account_id = ?',
      [accountId],
    );
    expect(created).toMatchObject({ username: 'thomas', email: null, account_status: 'active', admin_level: 0 });
    expect(created.password_hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
    expect(await db.accounts.byUsername('thomas')).toEqual({
      accountId,
      username: 'thomas',
      status: 'active',
      createdAt: created.created_date,
      adminLevel: 0,
    });

    // Console: changePassword by username (no email involved); Reality has no sessions to end, we do.
    const early = await db.accounts.login({ username: 'thomas', password: 'first-password', ip: '10.9.0.1' });
    const target = (await db.accounts.byUsername('thomas'))!;
    expect(await db.accounts.setPassword(target.accountId, 'wake-up-neo')).toEqual({ accountId, sessionsEnded: 1 });
    await expect(db.accounts.verifySession(early.sessionToken)).rejects.toBeInstanceOf(AuthError);
    const changed = await one('global-primary', 'SELECT password_hash FROM accounts WHERE account_id = ?', [accountId]);
    expect(changed.password_hash).not.toBe(created.password_hash);
    expect(await one('global-primary', 'SELECT COUNT(*) AS n FROM account_sessions WHERE account_id = ?', [accountId])).toMatchObject({
      n: 0,
    });
    // The admin flag Reality keeps per character (adminFlags) is the account's level here.
    await db.accounts.setAdminLevel(accountId, 1);

    // An account carried over from a Reality database as it stored it: 8 characters of '!'..'~' as salt.
    const salt = 'M;q~!Z0"';
    const { accountId: carried } = await db.accounts.importLegacy({
      username: 'trinity',
      legacyHash: { kind: 'reality', hash: realityHash(salt, 'dodge-this'), salt },
    });
    expect(await one('global-primary', 'SELECT email, password_hash FROM accounts WHERE account_id = ?', [carried])).toMatchObject({
      email: null,
      password_hash: expect.stringMatching(/^\$reality-scrypt\$/),
    });

    // Console: createWorld, createCharacter (the handle must be free; names as given).
    await db.worlds.register({ worldId: 1, name: 'Recursion' });
    expect(await db.characters.findByName('Neo')).toBeNull();
    const neo = (await db.characters.create({ accountId, name: 'Neo', firstName: 'Thomas', lastName: 'Anderson', districtId: 1 }))
      .characterId;
    await db.worlds.assignCharacter(neo, 1);
    const trin = (await db.characters.create({ accountId: carried, name: 'Trinity', firstName: 'Trinity', districtId: 4 })).characterId;
    await db.worlds.assignCharacter(trin, 1);
    expect(
      await one(
        'global-primary',
        'SELECT account_id, character_name, shard_name, district_id, world_id, character_status, deleted_at FROM character_directory WHERE character_id = ?',
        [neo],
      ),
    ).toMatchObject({
      account_id: accountId,
      character_name: 'Neo',
      shard_name: 'alpha',
      district_id: 1,
      world_id: 1,
      character_status: 0,
      deleted_at: null,
    });

    // Auth server: login (the carried account's first login upgrades its hash), the character list, the world list.
    await expect(db.accounts.login({ username: 'thomas', password: 'first-password', ip: '10.9.0.1' })).rejects.toBeInstanceOf(AuthError);
    const session = await db.accounts.login({ username: 'thomas', password: 'wake-up-neo', ip: '10.9.0.1' });
    expect(session.accountId).toBe(accountId);
    expect((await db.accounts.login({ username: 'trinity', password: 'dodge-this', ip: '10.9.0.2' })).accountId).toBe(carried);
    expect(
      String((await one('global-primary', 'SELECT password_hash FROM accounts WHERE account_id = ?', [carried])).password_hash),
    ).toMatch(/^\$scrypt\$/);
    const [roster, worlds] = await Promise.all([db.characters.roster(session.accountId), db.worlds.list()]);
    expect(roster).toEqual([{ characterId: neo, name: 'Neo', worldId: 1, status: 0, districtId: 1 }]);
    expect(worlds.map((w) => [w.worldId, w.name])).toEqual([[1, 'Recursion']]);
    const stored = await one(
      'global-primary',
      'SELECT last_login IS NOT NULL AS logged, login_count, last_ip, failed_login_attempts FROM accounts WHERE account_id = ?',
      [accountId],
    );
    expect(stored).toMatchObject({ logged: 1, login_count: 2, last_ip: '10.9.0.1', failed_login_attempts: 0 });

    // Margin server: the user by name, the character it owns with handle, names and background.
    expect((await db.accounts.byUsername('thomas'))!.accountId).toBe(accountId);
    expect((await db.characters.identity(neo)).profile).toMatchObject({ firstName: 'Thomas', lastName: 'Anderson', background: null });

    // World server: the handoff, then the load (PlayerObject::loadFromDB) in one call.
    const { ticket } = await db.presence.issueHandoff({ accountId, characterId: neo, serverId: 'reality-world', districtId: 1 });
    const { claim } = await db.presence.consumeHandoff(ticket, 'reality-world');
    const loaded = await db.characters.spawn(neo);
    expect(loaded).toMatchObject({
      name: 'Neo',
      firstName: 'Thomas',
      lastName: 'Anderson',
      background: null,
      position: { x: 0, y: 0, z: 0 },
      yaw: 0,
      health: 200,
      maxHealth: 200,
      innerStrength: 160,
      maxInnerStrength: 160,
      level: 1,
      profession: 0,
      alignment: 0,
      pvpFlag: false,
      experience: 0,
      money: 0,
      districtId: 1,
      worldId: 1,
      adminLevel: 1,
    });

    // PlayerObject::saveDataToDB: x, y, z and rot as doubles (Reality keeps rot in radians).
    const pos = { x: -1_234.5678901234, y: 98.7654321, z: 17_000.000125 };
    await db.characters.save(neo, { position: pos, yaw: 2.356194490192345 }, { fencingToken: claim.fencingToken });
    const row = await one(
      'alpha-primary',
      `SELECT position_x, position_y, position_z, yaw, is_online, presence_token, money, experience, level, first_name, last_name,
              world_id, district_id, account_id, character_name FROM characters WHERE character_id = ?`,
      [neo],
    );
    expect(row).toMatchObject({
      position_x: pos.x,
      position_y: pos.y,
      position_z: pos.z,
      yaw: 2.356194490192345,
      is_online: 1,
      presence_token: claim.fencingToken,
      money: 0,
      experience: 0,
      level: 1,
      first_name: 'Thomas',
      last_name: 'Anderson',
      world_id: 1,
      district_id: 1,
      account_id: accountId,
      character_name: 'Neo',
    });
    // Nothing went to the other shard or to the ledger (money did not change).
    expect(await one('beta-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [neo])).toMatchObject({ n: 0 });
    expect(
      await one('alpha-primary', "SELECT COUNT(*) AS n FROM transaction_history WHERE transaction_type = 'server_save'"),
    ).toMatchObject({
      n: 0,
    });
    expect(await db.characters.spawn(neo, { consistency: 'strong' })).toMatchObject({ position: pos, yaw: 2.356194490192345 });

    // Logout: a last save, the claim released; a save after it is refused and changes nothing.
    await db.characters.save(neo, { position: { x: 1, y: 2, z: 3 }, yaw: 0.5 }, { fencingToken: claim.fencingToken });
    await db.presence.release(neo, claim.fencingToken);
    await expect(db.characters.save(neo, { position: { x: 9, y: 9, z: 9 } }, { fencingToken: claim.fencingToken })).rejects.toBeInstanceOf(
      PresenceLostError,
    );
    expect(
      await one(
        'alpha-primary',
        'SELECT position_x, position_y, position_z, yaw, is_online, presence_token FROM characters WHERE character_id = ?',
        [neo],
      ),
    ).toMatchObject({ position_x: 1, position_y: 2, position_z: 3, yaw: 0.5, is_online: 0, presence_token: null });
    expect((await db.verify()).violations).toEqual([]);
  });
});
