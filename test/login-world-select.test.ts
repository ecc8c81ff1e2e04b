/**
 * Contract part four, login and world select, against real servers: accounts without an email
 * (neither emulator keeps one), byUsername, the operator's setPassword and setAdminLevel,
 * Reality's password hash imported and upgraded, and the roster in ONE statement on global, kept
 * in step with the shard rows by every writer. Stored values are checked with plain SQL and
 * statements are counted on the servers (SHOW GLOBAL STATUS deltas).
 */
import { createHash } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, NameTakenError, NotFoundError, openCluster, ValidationError, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
const NODES = ['global-primary', 'alpha-primary', 'beta-primary'] as const;
type Node = (typeof NODES)[number];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

const conns = new Map<string, Connection>();
async function sql(node: Node): Promise<Connection> {
  if (!conns.has(node)) conns.set(node, await t.sql(node));
  return conns.get(node)!;
}
async function rows(node: Node, text: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  return (await (await sql(node)).query<RowDataPacket[]>(text, params))[0];
}
const one = async (node: Node, text: string, params: unknown[] = []) => (await rows(node, text, params))[0]!;

/**
 * Statements each primary received, as Com_stmt_execute + Com_select (SHOW STATUS counts as
 * neither). Measured on MariaDB 10.11: the execution of a prepared SELECT counts in both (the
 * general log shows one Execute), so one prepared SELECT reads as 2 here, a text SELECT as 1.
 */
const COUNTED = ['Com_stmt_execute', 'Com_select'];
async function counters(): Promise<Record<Node, number>> {
  const out = {} as Record<Node, number>;
  for (const node of NODES) {
    const r = await rows(node, `SHOW GLOBAL STATUS WHERE Variable_name IN (?, ?)`, COUNTED);
    out[node] = r.reduce((sum, x) => sum + Number(x.Value), 0);
  }
  return out;
}
const minus = (a: Record<Node, number>, b: Record<Node, number>) => Object.fromEntries(NODES.map((n) => [n, a[n] - b[n]]));
/** One prepared SELECT in {@link counters}' units. */
const SELECT = 2;

/** Reality's AuthServer::HashPassword, written out here apart from src/crypto. */
const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');
const realityHash = (salt: string, password: string) => sha1(sha1(salt) + sha1(password));

async function fieldsOf(call: Promise<unknown>): Promise<string[]> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).fields;
}

describe('accounts without an email', () => {
  it('registers and imports with email NULL; password reset by email still works for accounts that have one', async () => {
    const { accountId: a } = await t.db.accounts.register({ username: 'ghost', password: 'ghost-in-the-shell' });
    const { accountId: b } = await t.db.accounts.register({ username: 'seraph', password: 'guardian-of-oracle' });
    const { accountId: c } = await t.db.accounts.importLegacy({
      username: 'sati',
      legacyHash: { kind: 'md5', hash: createHash('md5').update('sunrise-program').digest('hex') },
    });
    // Any number of accounts without an email (the UNIQUE index allows NULLs).
    const stored = await rows(
      'global-primary',
      'SELECT account_id, email FROM accounts WHERE account_id IN (?, ?, ?) ORDER BY account_id',
      [a, b, c],
    );
    expect(stored.map((r) => [r.account_id, r.email])).toEqual([
      [a, null],
      [b, null],
      [c, null],
    ]);
    expect((await t.db.accounts.login({ username: 'ghost', password: 'ghost-in-the-shell', ip: '10.1.0.1' })).accountId).toBe(a);
    expect((await t.db.accounts.login({ username: 'sati', password: 'sunrise-program', ip: '10.1.0.1' })).accountId).toBe(c);

    // With an email: as before, unique and resettable.
    const { accountId: d } = await t.db.accounts.register({ username: 'niobe', email: 'niobe@zion.example', password: 'logos-captain' });
    expect(await one('global-primary', 'SELECT email FROM accounts WHERE account_id = ?', [d])).toMatchObject({
      email: 'niobe@zion.example',
    });
    await expect(
      t.db.accounts.register({ username: 'niobe2', email: 'niobe@zion.example', password: 'logos-captain' }),
    ).rejects.toBeInstanceOf(NameTakenError);
    expect(await fieldsOf(t.db.accounts.register({ username: 'bad', email: 'not-an-address', password: 'logos-captain' }))).toEqual([
      'email',
    ]);
    const reset = await t.db.accounts.requestPasswordReset('niobe@zion.example');
    expect(reset.token).not.toBeNull();
    expect(await t.db.accounts.resetPassword(reset.token!, 'logos-captain-2')).toMatchObject({ accountId: d });
    expect((await t.db.accounts.login({ username: 'niobe', password: 'logos-captain-2', ip: '10.1.0.1' })).accountId).toBe(d);

    // Without one: a reset never matches them (no token stored anywhere), and needs an address.
    expect((await t.db.accounts.requestPasswordReset('ghost@zion.example')).token).toBeNull();
    expect(await one('global-primary', 'SELECT COUNT(*) AS n FROM account_security WHERE password_reset_token IS NOT NULL')).toMatchObject({
      n: 0,
    });
    await expect(t.db.accounts.requestPasswordReset(undefined as never)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('byUsername, setPassword, setAdminLevel', () => {
  it('byUsername returns the account without any secret, null when unknown, and validates the username', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'Morpheus', password: 'what-is-real' });
    const found = await t.db.accounts.byUsername('morpheus'); // the column's case-insensitive match
    const row = await one('global-primary', 'SELECT created_date FROM accounts WHERE account_id = ?', [accountId]);
    expect(found).toEqual({ accountId, username: 'Morpheus', status: 'active', createdAt: row.created_date, adminLevel: 0 });
    expect(Object.keys(found!).sort()).toEqual(['accountId', 'adminLevel', 'createdAt', 'status', 'username']);
    expect(await t.db.accounts.byUsername('nobody-here')).toBeNull();
    expect(await fieldsOf(t.db.accounts.byUsername('mor pheus'))).toEqual(['username']);
    expect(await fieldsOf(t.db.accounts.byUsername('x'.repeat(33)))).toEqual(['username']);
    await (await sql('global-primary')).query("UPDATE accounts SET account_status = 'banned' WHERE account_id = ?", [accountId]);
    expect((await t.db.accounts.byUsername('Morpheus', { consistency: 'strong' }))!.status).toBe('banned');
    await (await sql('global-primary')).query("UPDATE accounts SET account_status = 'active' WHERE account_id = ?", [accountId]);
  });

  it('setPassword stores a new scrypt hash and ends every session of the account in the same transaction', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'tank', password: 'operator-tank' });
    const { accountId: other } = await t.db.accounts.register({ username: 'dozer', password: 'operator-dozer' });
    const s1 = await t.db.accounts.login({ username: 'tank', password: 'operator-tank', ip: '10.2.0.1' });
    const s2 = await t.db.accounts.login({ username: 'tank', password: 'operator-tank', ip: '10.2.0.2' });
    const s3 = await t.db.accounts.login({ username: 'dozer', password: 'operator-dozer', ip: '10.2.0.3' });
    const before = await one('global-primary', 'SELECT password_hash FROM accounts WHERE account_id = ?', [accountId]);

    // The rules of register, before any SQL: nothing changes.
    expect(await fieldsOf(t.db.accounts.setPassword(accountId, 'short'))).toEqual(['password']);
    await expect(t.db.accounts.setPassword(0, 'long-enough-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.accounts.setPassword(987_654, 'long-enough-1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await one('global-primary', 'SELECT password_hash FROM accounts WHERE account_id = ?', [accountId])).toEqual(before);
    expect(await one('global-primary', 'SELECT COUNT(*) AS n FROM account_sessions WHERE account_id = ?', [accountId])).toMatchObject({
      n: 2,
    });

    expect(await t.db.accounts.setPassword(accountId, 'tank-is-back')).toEqual({ accountId, sessionsEnded: 2 });
    const after = await one(
      'global-primary',
      'SELECT a.password_hash, a.failed_login_attempts, s.salt FROM accounts a JOIN account_security s USING (account_id) WHERE account_id = ?',
      [accountId],
    );
    expect(after.password_hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
    expect(after.password_hash).not.toBe(before.password_hash);
    expect(after.failed_login_attempts).toBe(0);
    expect(after.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(await one('global-primary', 'SELECT COUNT(*) AS n FROM account_sessions WHERE account_id = ?', [accountId])).toMatchObject({
      n: 0,
    });
    for (const s of [s1, s2]) await expect(t.db.accounts.verifySession(s.sessionToken)).rejects.toBeInstanceOf(AuthError);
    expect((await t.db.accounts.verifySession(s3.sessionToken)).accountId).toBe(other); // another account's session stays
    await expect(t.db.accounts.login({ username: 'tank', password: 'operator-tank', ip: '10.2.0.1' })).rejects.toBeInstanceOf(AuthError);
    expect((await t.db.accounts.login({ username: 'tank', password: 'tank-is-back', ip: '10.2.0.1' })).accountId).toBe(accountId);
  });

  it('setAdminLevel sets 0..127 (the TINYINT), returns the level before, refuses others naming the level', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'oracle', password: 'have-a-cookie' });
    expect(await t.db.accounts.setAdminLevel(accountId, 2)).toEqual({ accountId, previous: 0, adminLevel: 2 });
    expect(await one('global-primary', 'SELECT admin_level FROM accounts WHERE account_id = ?', [accountId])).toMatchObject({
      admin_level: 2,
    });
    expect(await t.db.accounts.setAdminLevel(accountId, 2)).toEqual({ accountId, previous: 2, adminLevel: 2 }); // no change is no error
    expect((await t.db.accounts.byUsername('oracle'))!.adminLevel).toBe(2);
    for (const bad of [128, -1, 1.5]) expect(await fieldsOf(t.db.accounts.setAdminLevel(accountId, bad))).toEqual(['level']);
    await expect(t.db.accounts.setAdminLevel(987_654, 1)).rejects.toBeInstanceOf(NotFoundError);
    expect(await t.db.accounts.setAdminLevel(accountId, 127)).toMatchObject({ previous: 2, adminLevel: 127 });
    expect(await t.db.accounts.setAdminLevel(accountId, 0)).toMatchObject({ previous: 127, adminLevel: 0 });
    expect(await one('global-primary', 'SELECT admin_level FROM accounts WHERE account_id = ?', [accountId])).toMatchObject({
      admin_level: 0,
    });
  });
});

describe("Reality's password hash", () => {
  it('imports SHA1hex(SHA1hex(salt) + SHA1hex(password)) wrapped in scrypt; the right password logs in and upgrades it', async () => {
    const salt = 'k#9!~Qa$'; // Reality's GenerateSalt: 8 characters of '!'..'~'
    const hash = realityHash(salt, 'free-your-mind');
    const { accountId } = await t.db.accounts.importLegacy({ username: 'switch', legacyHash: { kind: 'reality', hash, salt } });
    const stored = String(
      (await one('global-primary', 'SELECT password_hash, email FROM accounts WHERE account_id = ?', [accountId])).password_hash,
    );
    expect(stored).toMatch(new RegExp(`^\\$reality-scrypt\\$${Buffer.from(salt).toString('base64url')}\\$scrypt\\$ln=17,r=8,p=1\\$`));
    expect(stored).not.toContain(hash); // the legacy digest is never at rest

    // Wrong passwords, including the salted-SHA-1 reading of the same row, fail and change nothing.
    await expect(t.db.accounts.login({ username: 'switch', password: 'free-your-mind!', ip: '10.3.0.1' })).rejects.toBeInstanceOf(
      AuthError,
    );
    expect(
      String((await one('global-primary', 'SELECT password_hash FROM accounts WHERE account_id = ?', [accountId])).password_hash),
    ).toBe(stored);
    const login = await t.db.accounts.login({ username: 'switch', password: 'free-your-mind', ip: '10.3.0.1' });
    expect(login.accountId).toBe(accountId);
    const upgraded = await one(
      'global-primary',
      'SELECT a.password_hash, s.salt FROM accounts a JOIN account_security s USING (account_id) WHERE account_id = ?',
      [accountId],
    );
    expect(upgraded.password_hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
    expect((await t.db.accounts.login({ username: 'switch', password: 'free-your-mind', ip: '10.3.0.1' })).accountId).toBe(accountId);

    // The same digest under another salt is another password; an upper-case digest is the same one.
    await t.db.accounts.importLegacy({ username: 'apoc', legacyHash: { kind: 'reality', hash, salt: 'other!!!' } });
    await expect(t.db.accounts.login({ username: 'apoc', password: 'free-your-mind', ip: '10.3.0.2' })).rejects.toBeInstanceOf(AuthError);
    await t.db.accounts.importLegacy({ username: 'mouse', legacyHash: { kind: 'reality', hash: hash.toUpperCase(), salt } });
    expect((await t.db.accounts.login({ username: 'mouse', password: 'free-your-mind', ip: '10.3.0.3' })).accountId).toBeGreaterThan(0);
    // A 'salted-sha1' import of SHA-1(salt + password) is not the Reality scheme.
    await t.db.accounts.importLegacy({
      username: 'trainman',
      legacyHash: {
        kind: 'reality',
        hash: createHash('sha1')
          .update(salt + 'free-your-mind')
          .digest('hex'),
        salt,
      },
    });
    await expect(t.db.accounts.login({ username: 'trainman', password: 'free-your-mind', ip: '10.3.0.4' })).rejects.toBeInstanceOf(
      AuthError,
    );

    // Validation names the field, before any SQL.
    expect(await fieldsOf(t.db.accounts.importLegacy({ username: 'x1x', legacyHash: { kind: 'reality', hash } as never }))).toContain(
      'legacyHash.salt',
    );
    expect(await fieldsOf(t.db.accounts.importLegacy({ username: 'x2x', legacyHash: { kind: 'reality', hash: 'abc', salt } }))).toContain(
      'legacyHash.hash',
    );
    expect(await one('global-primary', "SELECT COUNT(*) AS n FROM accounts WHERE username IN ('x1x', 'x2x')")).toMatchObject({ n: 0 });
  });
});

describe('the roster', () => {
  it('is one statement on global with every field the character list carries, kept in step by every writer', async () => {
    const db = t.db;
    const { accountId } = await db.accounts.register({ username: 'anderson', password: 'there-is-no-spoon' });
    const { accountId: stranger } = await db.accounts.register({ username: 'smith', password: 'mister-anderson' });
    await db.worlds.register({ worldId: 7, name: 'Recursion' });
    await db.worlds.register({ worldId: 9, name: 'Vector' });
    const neo = (await db.characters.create({ accountId, name: 'Neo', districtId: 1 })).characterId;
    const trinity = (await db.characters.create({ accountId, name: 'Trinity', gender: 'female', districtId: 4 })).characterId;
    const gone = (await db.characters.create({ accountId, name: 'Choi', districtId: 2 })).characterId;
    await db.characters.create({ accountId: stranger, name: 'Smith', districtId: 1 });
    expect(await db.characters.roster(accountId)).toEqual([
      { characterId: neo, name: 'Neo', worldId: null, status: 0, districtId: 1 },
      { characterId: trinity, name: 'Trinity', worldId: null, status: 0, districtId: 4 },
      { characterId: gone, name: 'Choi', worldId: null, status: 0, districtId: 2 },
    ]);

    // Every writer of a field the roster shows writes the directory in the same commit.
    await db.worlds.assignCharacter(neo, 7);
    await db.worlds.assignCharacter(trinity, 9);
    expect(await db.characters.setProfile(trinity, { status: 2 })).toMatchObject({ status: 2 }); // e.g. Reality's "banned"
    await db.characters.setProfile(neo, { firstName: 'Thomas' }); // no status: the directory is not touched
    await db.characters.moveToDistrict(neo, 2); // same shard
    await db.characters.moveToDistrict(trinity, 3); // beta -> alpha: the row moves, the status with it
    await db.characters.delete(gone); // soft delete: off the roster
    const roster = await db.characters.roster(accountId);
    expect(roster).toEqual([
      { characterId: neo, name: 'Neo', worldId: 7, status: 0, districtId: 2 },
      { characterId: trinity, name: 'Trinity', worldId: 9, status: 2, districtId: 3 },
    ]);
    // The shard rows say the same (plain SQL on the shard that holds each).
    const shardRows = await rows(
      'alpha-primary',
      'SELECT character_id, character_name, world_id, character_status, district_id FROM characters WHERE character_id IN (?, ?) ORDER BY character_id',
      [neo, trinity],
    );
    expect(
      shardRows.map((r) => ({
        characterId: r.character_id,
        name: r.character_name,
        worldId: r.world_id,
        status: r.character_status,
        districtId: r.district_id,
      })),
    ).toEqual(roster);
    expect(await one('beta-primary', 'SELECT COUNT(*) AS n FROM characters WHERE character_id = ?', [trinity])).toMatchObject({ n: 0 });
    await db.characters.setProfile(trinity, { status: 0 });
    expect((await db.characters.roster(accountId))[1]!.status).toBe(0);
    expect(await one('global-primary', 'SELECT character_status FROM character_directory WHERE character_id = ?', [trinity])).toMatchObject(
      {
        character_status: 0,
      },
    );
    expect(await db.characters.roster(987_654)).toEqual([]);
    expect(await fieldsOf(db.characters.roster(-1))).toBeDefined();
    await expect(db.characters.setProfile(trinity, { status: 2 ** 31 })).rejects.toBeInstanceOf(ValidationError);

    // A login server process: login, then the world list and the roster at once. Three calls, two
    // sequential steps; the world list and the roster are one statement each, on global only.
    const login: Cluster = await openCluster(t.config);
    t.db.admin.stop(); // each process refreshes the placement on global every 5 s: not during the counts
    login.admin.stop();
    try {
      // The pool's connections are opened outside the counts (a new one sends its session setup as text).
      await Promise.all([login.worlds.list(), login.worlds.list(), login.worlds.list()]);
      // Counted on whole servers, so a stray statement from another process's background work can
      // land in a window: each count must come out exact in one of three windows (a login or a
      // roster that read a shard, or sent more, never would).
      let loginCounts: Record<string, number> = {};
      let listCounts: Record<string, number> = {};
      let rosterCounts: Record<string, number> = {};
      const noShard = (c: Record<string, number>) => c['alpha-primary'] === 0 && c['beta-primary'] === 0;
      for (let attempt = 0; attempt < 3; attempt++) {
        const before = await counters();
        const session = await login.accounts.login({ username: 'anderson', password: 'there-is-no-spoon', ip: '10.4.0.1' });
        const afterLogin = await counters();
        const [worlds, list] = await Promise.all([login.worlds.list(), login.characters.roster(session.accountId)]);
        const after = await counters();
        expect(list).toEqual(await db.characters.roster(accountId, { consistency: 'strong' }));
        expect(worlds.map((w) => w.worldId)).toEqual([7, 9]);
        // The roster alone: one statement.
        const r0 = await counters();
        await login.characters.roster(session.accountId);
        loginCounts = minus(afterLogin, before);
        listCounts = minus(after, afterLogin);
        rosterCounts = minus(await counters(), r0);
        if (
          noShard(loginCounts) &&
          noShard(listCounts) &&
          listCounts['global-primary'] === 2 * SELECT &&
          rosterCounts['global-primary'] === SELECT &&
          noShard(rosterCounts)
        )
          break;
      }
      expect(listCounts).toEqual({ 'global-primary': 2 * SELECT, 'alpha-primary': 0, 'beta-primary': 0 });
      expect(loginCounts['alpha-primary']! + loginCounts['beta-primary']!).toBe(0);
      console.log(`login: Com_stmt_execute + Com_select on global ${loginCounts['global-primary']}; world list + roster: ${2 * SELECT}`);
      expect(rosterCounts).toEqual({ 'global-primary': SELECT, 'alpha-primary': 0, 'beta-primary': 0 });
    } finally {
      t.db.admin.start();
      await login.close();
    }
  });

  it('verify names a directory that disagrees with the shard row; migrating 095 copies the statuses stored before it', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'bane', password: 'smith-inside' });
    const bane = (await t.db.characters.create({ accountId, name: 'Bane', districtId: 1 })).characterId;
    await t.db.characters.setProfile(bane, { status: 1 });
    expect((await t.db.verify()).violations).toEqual([]);
    const global = await sql('global-primary');
    // A directory written before 095 (status 0) while the shard row says 1: verify names it.
    await global.query('UPDATE character_directory SET character_status = 0 WHERE character_id = ?', [bane]);
    await global.query('UPDATE character_directory SET district_id = 2 WHERE character_id = ?', [bane]);
    expect((await t.db.verify()).violations).toEqual([
      { check: 'directory', message: `directory says character ${bane}'s district is 2; its row on alpha says 1` },
      { check: 'directory', message: `directory says character ${bane}'s status is 0; its row on alpha says 1` },
    ]);
    await global.query('UPDATE character_directory SET district_id = 1 WHERE character_id = ?', [bane]);
    // Migrating 095 (as on a cluster that did not have it) copies the shard's status into the directory.
    await global.query("DELETE FROM schema_migrations WHERE tier = 'global' AND file_name = '095_login_roster.sql'");
    const operator = await openCluster(t.rootConfig);
    try {
      const report = await operator.migrate();
      expect(report.nodes.find((n) => n.node === 'global-primary')!.applied).toEqual(['global/095_login_roster.sql']);
    } finally {
      await operator.close();
    }
    expect(await one('global-primary', 'SELECT character_status FROM character_directory WHERE character_id = ?', [bane])).toMatchObject({
      character_status: 1,
    });
    expect(await t.db.characters.roster(accountId, { consistency: 'strong' })).toEqual([
      { characterId: bane, name: 'Bane', worldId: null, status: 1, districtId: 1 },
    ]);
    expect((await t.db.verify()).violations).toEqual([]);
  });
});
