import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  openCluster,
  InsufficientFundsError,
  NameTakenError,
  NotFoundError,
  UnknownDistrictError,
  ValidationError,
} from '../src/index.js';
import { asUser, startTestCluster, TEST_USER_PASSWORDS, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;

async function rows(conn: Connection, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await conn.query<RowDataPacket[]>(sql, params);
  return result;
}

/** Waits until a replica has applied everything its primary has now. */
async function syncReplica(primary: Connection, replica: Connection): Promise<void> {
  const [{ pos }] = (await rows(primary, 'SELECT @@gtid_binlog_pos AS pos')) as [{ pos: string }];
  const [{ r }] = (await rows(replica, 'SELECT MASTER_GTID_WAIT(?, 10) AS r', [pos])) as [{ r: number }];
  expect(r).toBe(0);
}

async function count(conn: Connection, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await rows(conn, sql, params);
  return Number(Object.values(row!)[0]);
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 1 });
  ({ accountId } = await t.db.accounts.register({ username: 'morpheus', email: 'morpheus@zion.example', password: 'redpill-bluepill' }));
});
afterAll(async () => t?.stop());

describe('accounts', () => {
  it('stores only a salted hash of the password', async () => {
    const global = await t.sql('global-primary');
    const [account] = await rows(global, 'SELECT password_hash FROM accounts WHERE account_id = ?', [accountId]);
    const [security] = await rows(global, 'SELECT salt FROM account_security WHERE account_id = ?', [accountId]);
    // A PHC string carrying its scrypt parameters (cost at least 2^17), never the password.
    const phc = /^\$scrypt\$ln=(\d+),r=8,p=1\$[^$]{16,}\$[^$]{40,}$/.exec(account!.password_hash);
    expect(phc, account!.password_hash).not.toBeNull();
    expect(Number(phc![1])).toBeGreaterThanOrEqual(17);
    expect(account!.password_hash).not.toContain('redpill');
    expect(security!.salt).toMatch(/^[0-9a-f]{32}$/);
    // Same password, different account: different salt, different hash.
    const other = await t.db.accounts.register({ username: 'switch', email: 'switch@zion.example', password: 'redpill-bluepill' });
    const [otherAccount] = await rows(global, 'SELECT password_hash FROM accounts WHERE account_id = ?', [other.accountId]);
    expect(otherAccount!.password_hash).not.toBe(account!.password_hash);
  });

  it('logs in with a session token stored only as a hash, with expiry', async () => {
    const login = await t.db.accounts.login({ username: 'morpheus', password: 'redpill-bluepill', ip: '10.0.0.1' });
    expect(login.accountId).toBe(accountId);
    expect(login.sessionToken.length).toBeGreaterThanOrEqual(40);
    expect(login.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const global = await t.sql('global-primary');
    expect(await count(global, 'SELECT COUNT(*) FROM account_sessions WHERE session_id = ?', [login.sessionToken])).toBe(0);
    expect(await count(global, 'SELECT COUNT(*) FROM account_sessions WHERE account_id = ?', [accountId])).toBe(1);
    expect((await t.db.accounts.verifySession(login.sessionToken)).accountId).toBe(accountId);
    await t.db.accounts.logout(login.sessionToken);
    await expect(t.db.accounts.verifySession(login.sessionToken)).rejects.toBeInstanceOf(AuthError);
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    await expect(t.db.accounts.login({ username: 'morpheus', password: 'wrong-password', ip: '10.0.0.1' })).rejects.toMatchObject({
      code: 'AUTH',
      reason: 'bad_credentials',
    });
    await expect(t.db.accounts.login({ username: 'nobody', password: 'wrong-password', ip: '10.0.0.1' })).rejects.toMatchObject({
      code: 'AUTH',
      reason: 'bad_credentials',
    });
  });

  it('locks an account after repeated failures, even for the right password', async () => {
    await t.db.accounts.register({ username: 'cypher', email: 'cypher@zion.example', password: 'steak-is-real' });
    for (let i = 0; i < 5; i++) {
      await expect(t.db.accounts.login({ username: 'cypher', password: `guess-${i}-xx`, ip: '10.0.0.2' })).rejects.toBeInstanceOf(
        AuthError,
      );
    }
    const global = await t.sql('global-primary');
    expect(await count(global, "SELECT failed_login_attempts FROM accounts WHERE username = 'cypher'")).toBe(5);
    await expect(t.db.accounts.login({ username: 'cypher', password: 'steak-is-real', ip: '10.0.0.2' })).rejects.toMatchObject({
      reason: 'locked',
    });
  });

  it('rejects bad input naming the field, before any SQL', async () => {
    const global = await t.sql('global-primary');
    const before = await count(global, 'SELECT COUNT(*) FROM accounts');
    const error = await t.db.accounts.register({ username: 'x', email: 'not-an-email', password: 'short' }).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields).toEqual(expect.arrayContaining(['username', 'email', 'password']));
    expect(await count(global, 'SELECT COUNT(*) FROM accounts')).toBe(before);
    await expect(
      t.db.accounts.register({ username: 'morpheus', email: 'other@zion.example', password: 'whatever-123' }),
    ).rejects.toBeInstanceOf(NameTakenError);
  });
});

describe('characters and routing', () => {
  it('places a character on the shard owning its district: primary, then its replica, nowhere else', async () => {
    const ch = await t.db.characters.create({ accountId, name: 'Tank', archetype: 'martial_artist', gender: 'male', districtId: 4 });
    expect(ch.shard).toBe('beta');
    expect(t.db.shardOfDistrict(4)).toBe('beta');
    const betaPrimary = await t.sql('beta-primary');
    const betaReplica = await t.sql('beta-replica-1');
    await syncReplica(betaPrimary, betaReplica);
    const q = 'SELECT COUNT(*) FROM characters WHERE character_id = ?';
    expect(await count(betaPrimary, q, [ch.characterId])).toBe(1);
    expect(await count(betaReplica, q, [ch.characterId])).toBe(1);
    const alphaPrimary = await t.sql('alpha-primary');
    const alphaReplica = await t.sql('alpha-replica-1');
    await syncReplica(alphaPrimary, alphaReplica);
    expect(await count(alphaPrimary, q, [ch.characterId])).toBe(0);
    expect(await count(alphaReplica, q, [ch.characterId])).toBe(0);
    const global = await t.sql('global-primary');
    const [dir] = await rows(global, 'SELECT shard_name, district_id FROM character_directory WHERE character_id = ?', [ch.characterId]);
    expect(dir).toMatchObject({ shard_name: 'beta', district_id: 4 });
  });

  it('keeps character names unique across shards', async () => {
    await t.db.characters.create({ accountId, name: 'Dozer', archetype: 'spy', gender: 'male', districtId: 1 });
    const error = await t.db.characters
      .create({ accountId, name: 'Dozer', archetype: 'spy', gender: 'male', districtId: 5 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(NameTakenError);
    expect((error as NameTakenError).field).toBe('name');
    const beta = await t.sql('beta-primary');
    expect(await count(beta, "SELECT COUNT(*) FROM characters WHERE character_name = 'Dozer'")).toBe(0);
    const global = await t.sql('global-primary');
    expect(await count(global, "SELECT COUNT(*) FROM character_directory WHERE character_name = 'Dozer'")).toBe(1);
  });

  it('rejects bad character input and unknown districts and accounts, writing nothing', async () => {
    const global = await t.sql('global-primary');
    const before = await count(global, 'SELECT COUNT(*) FROM character_directory');
    const bad = await t.db.characters
      .create({ accountId, name: '', archetype: 'wizard' as never, gender: 'female', districtId: 1 })
      .catch((e) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).fields).toEqual(expect.arrayContaining(['name', 'archetype']));
    await expect(
      t.db.characters.create({ accountId, name: 'Ghost', archetype: 'spy', gender: 'male', districtId: 77 }),
    ).rejects.toBeInstanceOf(UnknownDistrictError);
    await expect(
      t.db.characters.create({ accountId: 999_999, name: 'Ghost', archetype: 'spy', gender: 'male', districtId: 1 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await count(global, 'SELECT COUNT(*) FROM character_directory')).toBe(before);
    await expect(t.db.characters.get(123_456)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('adjusts money with a history row and never below zero', async () => {
    const ch = await t.db.characters.create({ accountId, name: 'Mouse', archetype: 'hacker', gender: 'male', districtId: 2 });
    expect((await t.db.characters.adjustMoney(ch.characterId, 500, 'quest_reward')).money).toBe(500);
    expect((await t.db.characters.adjustMoney(ch.characterId, -120, 'repair_cost')).money).toBe(380);
    const error = await t.db.characters.adjustMoney(ch.characterId, -1000, 'vendor_purchase').catch((e) => e);
    expect(error).toBeInstanceOf(InsufficientFundsError);
    expect((await t.db.characters.get(ch.characterId, { consistency: 'strong' })).money).toBe(380);
    const alpha = await t.sql('alpha-primary');
    const history = await rows(
      alpha,
      'SELECT transaction_type, money_amount FROM transaction_history WHERE from_character_id = ? OR to_character_id = ? ORDER BY transaction_id',
      [ch.characterId, ch.characterId],
    );
    expect(history.map((h) => [h.transaction_type, h.money_amount])).toEqual([
      ['quest_reward', 500],
      ['repair_cost', 120],
    ]);
    await expect(t.db.characters.adjustMoney(ch.characterId, 0, 'quest_reward')).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.adjustMoney(ch.characterId, 5, 'trade' as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('moves a character within its shard and updates the directory', async () => {
    const ch = await t.db.characters.create({ accountId, name: 'Apoc', archetype: 'spy', gender: 'male', districtId: 1 });
    const moved = await t.db.characters.moveToDistrict(ch.characterId, 3);
    expect(moved).toEqual({ characterId: ch.characterId, districtId: 3, shard: 'alpha', movedShards: false });
    expect((await t.db.characters.get(ch.characterId)).districtId).toBe(3);
    const global = await t.sql('global-primary');
    expect(await count(global, 'SELECT district_id FROM character_directory WHERE character_id = ?', [ch.characterId])).toBe(3);
    await expect(t.db.characters.moveToDistrict(ch.characterId, 42)).rejects.toThrow(/district 42/);
    expect((await t.db.characters.get(ch.characterId)).districtId).toBe(3);
  });

  it('gathers player_summary from global and the shard', async () => {
    const ch = await t.db.characters.create({ accountId, name: 'Niobe', archetype: 'spy', gender: 'female', districtId: 6 });
    const summary = await t.db.players.summary(ch.characterId);
    expect(summary).toMatchObject({ characterName: 'Niobe', username: 'morpheus', crewName: 'None', shard: 'beta', accountId });
  });
});

describe('items and inventory', () => {
  it('writes a template to global and every shard with one id', async () => {
    const templateId = await t.db.items.defineTemplate({ itemName: 'Agent Sunglasses', itemType: 'clothing' });
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      const conn = await t.sql(node);
      expect(
        await count(conn, "SELECT COUNT(*) FROM item_templates WHERE template_id = ? AND item_name = 'Agent Sunglasses'", [templateId]),
      ).toBe(1);
    }
    await expect(t.db.items.defineTemplate({ itemName: '', itemType: 'hat' as never })).rejects.toBeInstanceOf(ValidationError);
  });

  it('hands out item ids that are unique across shards', async () => {
    const templateId = await t.db.items.defineTemplate({ itemName: 'Red Pill', itemType: 'consumable' });
    const a = await t.db.characters.create({ accountId, name: 'Ghost', archetype: 'spy', gender: 'male', districtId: 1 });
    const b = await t.db.characters.create({ accountId, name: 'Sparks', archetype: 'hacker', gender: 'male', districtId: 4 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => t.db.inventory.grant(i % 2 ? a.characterId : b.characterId, { templateId })));
    const ids: number[] = [];
    for (const node of ['alpha-primary', 'beta-primary']) {
      const conn = await t.sql(node);
      ids.push(...(await rows(conn, 'SELECT item_id FROM character_inventory')).map((r) => Number(r.item_id)));
    }
    expect(ids.length).toBeGreaterThanOrEqual(30);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await t.db.inventory.list(a.characterId)).length).toBe(15);
    expect((await t.db.inventory.list(b.characterId)).length).toBe(15);
    await expect(t.db.inventory.grant(a.characterId, { templateId: 987_654 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.db.inventory.grant(a.characterId, { templateId, quantity: 0 })).rejects.toBeInstanceOf(ValidationError);
  });

  it('gives each configured district a row in the districts reference table, on every primary', async () => {
    for (const node of ['global-primary', 'alpha-primary', 'beta-primary']) {
      const conn = await t.sql(node);
      expect(await count(conn, 'SELECT COUNT(*) FROM districts WHERE district_id IN (1,2,3,4,5,6)')).toBe(6);
    }
  });

  it('migrate is idempotent on a live cluster, run as the migrations account mxo_migrate', async () => {
    const migrator = await openCluster(asUser(t.rootConfig, 'mxo_migrate', TEST_USER_PASSWORDS.MXO_MIGRATE_PASSWORD));
    try {
      const report = await migrator.migrate();
      expect(report.nodes.flatMap((n) => n.applied)).toEqual([]);
    } finally {
      await migrator.close();
    }
  });
});
