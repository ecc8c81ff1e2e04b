/**
 * Contract part four: Hardline Dreams' (hdneo/mxo-hd @db445dcd) whole client flow replayed
 * against real servers, each step named after the emulator code it stands for:
 * - an account carried over from mxo-hd's `users` table (username, `passwordmd5`, the 96-byte RSA
 *   pair) -> importLegacy({ kind: 'md5' }) + storeLoginKeys;
 * - the auth server's login (AuthHandler.cs:209 -> MyAuthDBAccess.cs:30: the user by username and
 *   MD5, its RSA pair and timeCreated; :56 its live characters with status and world id; :67 the
 *   worlds) -> login, then byUsername + loginKeys + worlds.list + roster side by side;
 * - the margin server's name check (MyMarginDBAccess.cs:89 getNewCharnameID: the handle free, a
 *   charId in the reply) -> reserveName;
 * - creation (MarginClient.cs:362-442: RSI values, the worn items 0x61-0x68 by goid, names and
 *   background, addStartAbilitys) -> create({ characterId, startingItems, startingAbilities }) in
 *   one call, with worlds.assignCharacter for the world id mxo-hd inserts;
 * - the margin load (MarginClient.cs loadCharacter: M:32 names/exp/cash/district, M:37 inventory
 *   by goid, M:69 abilities with slot and level) -> spawn;
 * - the world server's entry (the UDP session names only the character) -> pendingHandoff,
 *   consumeHandoff, spawn; its SavePlayer/SET cash/SET exp (W:692, W:952, W:997) -> save, fenced;
 *   logout -> release.
 * Every stored value is checked with plain SQL.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MXO_HD_STARTING_ABILITIES, PresenceLostError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
type Node = 'global-primary' | 'alpha-primary' | 'beta-primary';
beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

const conns = new Map<string, Connection>();
async function rows(node: Node, text: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  if (!conns.has(node)) conns.set(node, await t.sql(node));
  return (await conns.get(node)!.query<RowDataPacket[]>(text, params))[0];
}
const one = async (node: Node, text: string, params: unknown[] = []) => (await rows(node, text, params))[0]!;
/** The primary that holds a character's rows, from the global directory. */
async function shardOf(characterId: number): Promise<Node> {
  const { shard_name } = await one('global-primary', 'SELECT shard_name FROM character_directory WHERE character_id = ?', [characterId]);
  return `${String(shard_name)}-primary` as Node;
}

/** The worn kit MarginClient.cs:395-401 puts on a new character, by goid and slot. */
const WORN: Array<{ goid: number; slot: number; subtype: string }> = [
  { goid: 0x8a0f0101, slot: 0x61, subtype: 'hat' },
  { goid: 0x8a0f0102, slot: 0x62, subtype: 'glasses' },
  { goid: 0x8a0f0103, slot: 0x63, subtype: 'shirt' },
  { goid: 0x8a0f0104, slot: 0x64, subtype: 'gloves' },
  { goid: 0x8a0f0105, slot: 0x65, subtype: 'coat' },
  { goid: 0x8a0f0106, slot: 0x66, subtype: 'pants' },
  { goid: 0x8a0f0108, slot: 0x68, subtype: 'shoes' },
];

describe("Hardline Dreams' client flow", () => {
  it('login, name check, create with the kit, select, enter world, save, logout: every value stored as expected', async () => {
    const db = t.db;
    // Reference data as a server imports it: the clothes and the kit's abilities, one 2PC each batch.
    const { templateIds } = await db.items.defineMany(
      WORN.map((w) => ({ itemName: `Kit ${w.subtype}`, itemType: 'clothing', itemSubtype: w.subtype, clientObjectId: w.goid })),
    );
    await db.abilities.defineMany(MXO_HD_STARTING_ABILITIES.map((a, i) => ({ abilityId: a.abilityId, abilityName: `Kit ability ${i}` })));
    await db.worlds.register({ worldId: 1, name: 'Recursion' });

    // mxo-hd's users row, carried over: MD5 hex of the password and the account's RSA pair.
    const password = 'there-is-no-spoon';
    const md5 = createHash('md5').update(password, 'utf8').digest('hex');
    const { accountId } = await db.accounts.importLegacy({ username: 'thomas', legacyHash: { kind: 'md5', hash: md5 } });
    const modulus = randomBytes(96);
    const privateExponent = randomBytes(96);
    await db.accounts.storeLoginKeys(accountId, { modulus, privateExponent }, { allowPlaintext: true });

    // Auth server: the login, then what the auth reply carries, side by side (3 calls, 2 hops).
    const session = await db.accounts.login({ username: 'thomas', password, ip: '10.1.0.7' });
    expect(session.accountId).toBe(accountId);
    const [account, keys, worlds, emptyRoster] = await Promise.all([
      db.accounts.byUsername('thomas'),
      db.accounts.loginKeys(accountId),
      db.worlds.list(),
      db.characters.roster(accountId),
    ]);
    const stored = await one('global-primary', 'SELECT created_date, admin_level, password_hash FROM accounts WHERE account_id = ?', [
      accountId,
    ]);
    expect(account).toEqual({ accountId, username: 'thomas', status: 'active', createdAt: stored.created_date, adminLevel: 0 });
    // The first login replaced the MD5 with the library's own hash.
    expect(String(stored.password_hash)).toMatch(/^\$scrypt\$/);
    expect(Buffer.from(keys!.modulus)).toEqual(modulus);
    expect(Buffer.from(keys!.privateExponent)).toEqual(privateExponent);
    expect(worlds.map((w) => [w.worldId, w.name])).toEqual([[1, 'Recursion']]);
    expect(emptyRoster).toEqual([]);

    // Margin: the name check replies with the character id the creation then uses.
    const { characterId } = await db.characters.reserveName(accountId, 'Neo');
    expect(characterId).toBeGreaterThan(0);
    const created = await db.characters.create({
      accountId,
      characterId,
      districtId: 1,
      appearance: { sex: 0, body: 1, face: 5, hair: 3, hairColor: 1, skinTone: 2 },
      firstName: 'Thomas',
      lastName: 'Anderson',
      background: 'Programmer by day.',
      startingItems: WORN.map((w, i) => ({ templateId: templateIds[i]!, slot: w.slot })),
      startingAbilities: MXO_HD_STARTING_ABILITIES,
    });
    expect(created.characterId).toBe(characterId);
    await db.worlds.assignCharacter(characterId, 1);
    const shard = await shardOf(characterId);
    const row = await one(
      shard,
      'SELECT character_name, account_id, first_name, last_name, background, district_id, world_id FROM characters WHERE character_id = ?',
      [characterId],
    );
    expect(row).toMatchObject({
      character_name: 'Neo',
      account_id: accountId,
      first_name: 'Thomas',
      last_name: 'Anderson',
      background: 'Programmer by day.',
      district_id: 1,
      world_id: 1,
    });
    const worn = await rows(
      shard,
      `SELECT i.slot_position, t.client_object_id FROM character_inventory i JOIN item_templates t USING (template_id)
        WHERE i.character_id = ? ORDER BY i.slot_position`,
      [characterId],
    );
    expect(worn.map((r) => [r.slot_position, Number(r.client_object_id) >>> 0])).toEqual(WORN.map((w) => [w.slot, w.goid]));
    const slots = await rows(
      shard,
      `SELECT s.slot_number, s.ability_id, a.ability_level, s.is_loaded FROM character_ability_slots s
         JOIN character_abilities a USING (character_id, ability_id) WHERE s.character_id = ? ORDER BY s.slot_number`,
      [characterId],
    );
    expect(slots.map((s) => [s.slot_number, Number(s.ability_id), s.ability_level, Boolean(s.is_loaded)])).toEqual(
      MXO_HD_STARTING_ABILITIES.flatMap((a) => a.slots.map((slot) => [slot, a.abilityId, a.level, a.loaded])),
    );

    // The next login's character list: one read on global, with the world id and status.
    expect(await db.characters.roster(accountId)).toEqual([{ characterId, name: 'Neo', worldId: 1, status: 0, districtId: 1 }]);

    // Character select (the margin load): one call carries names, money, inventory by goid, abilities.
    const selected = await db.characters.spawn(characterId);
    expect(selected).toMatchObject({ characterId, name: 'Neo', firstName: 'Thomas', lastName: 'Anderson', worldId: 1, districtId: 1 });
    expect(selected.inventory.map((i) => [i.slot, i.clientItemId! >>> 0])).toEqual(WORN.map((w) => [w.slot, w.goid]));
    expect(selected.loadout.map((l) => l.slot)).toEqual(MXO_HD_STARTING_ABILITIES.flatMap((a) => a.slots));

    // World entry: the UDP session names only the character; the server finds the pending ticket.
    const { ticket } = await db.presence.issueHandoff({ accountId, characterId, serverId: 'world-1', districtId: 1, ttlSec: 60 });
    expect(await db.presence.pendingHandoff(characterId, 'world-1')).toMatchObject({ accountId, characterId, districtId: 1 });
    const { claim } = await db.presence.consumeHandoff(ticket, 'world-1');
    expect(await db.presence.pendingHandoff(characterId, 'world-1')).toBeNull();
    const spawn = await db.characters.spawn(characterId);
    expect(spawn.money).toBe(selected.money);

    // SavePlayer with SET cash and SET exp: absolute values, fenced, one transaction.
    const position = { x: 17_023.125, y: -4.5, z: 3_001.0625 };
    await db.characters.save(
      characterId,
      { experience: 5200, money: 740, health: 480, innerStrength: 190, position, yaw: 139, reputations: { zion_military: 120 }, level: 3 },
      { fencingToken: claim.fencingToken },
    );
    const saved = await one(
      shard,
      `SELECT experience, money, health, inner_strength, position_x, position_y, position_z, yaw, level, is_online
         FROM characters WHERE character_id = ?`,
      [characterId],
    );
    expect(saved).toMatchObject({ experience: 5200, health: 480, inner_strength: 190, yaw: 139, level: 3, is_online: 1 });
    expect(Number(saved.money)).toBe(740);
    expect([saved.position_x, saved.position_y, saved.position_z]).toEqual([position.x, position.y, position.z]);
    const ledger = await one(
      shard,
      `SELECT COUNT(*) AS n, SUM(IF(to_character_id = ?, money_amount, -money_amount)) AS total FROM transaction_history
        WHERE ? IN (from_character_id, to_character_id) AND transaction_type = 'server_save'`,
      [characterId, characterId],
    );
    expect([Number(ledger.n), Number(ledger.total)]).toEqual([1, 740 - selected.money]);
    expect(
      await one(shard, "SELECT points FROM character_reputations WHERE character_id = ? AND organization = 'zion_military'", [characterId]),
    ).toMatchObject({ points: 120 });

    // Logout: the claim ends; a save with the old token is refused and writes nothing.
    await db.presence.release(characterId, claim.fencingToken);
    await expect(db.characters.save(characterId, { money: 1 }, { fencingToken: claim.fencingToken })).rejects.toBeInstanceOf(
      PresenceLostError,
    );
    expect(await one(shard, 'SELECT money, is_online FROM characters WHERE character_id = ?', [characterId])).toMatchObject({
      is_online: 0,
    });
    expect(Number((await one(shard, 'SELECT money FROM characters WHERE character_id = ?', [characterId])).money)).toBe(740);
    // Released: the claim row stays (its fencing token must keep rising), with no server.
    expect(await one('global-primary', 'SELECT server_id FROM presence_claims WHERE character_id = ?', [characterId])).toMatchObject({
      server_id: null,
    });
  });
});
