/**
 * Contract part four: a district server entering, saving and logging out a character the way
 * Hardline Dreams (hdneo/mxo-hd) does it, against real servers. The handler sequence of its world
 * server: the UDP session names only the character (processInitUDPSession) -> the pending
 * handoff -> SetPlayerValues (W:476, the spawn row) + RSI (W:651) + online (W:673) + buddies
 * (W:89/111) + crew and faction (W:135/270/332) -> periodic SavePlayer (W:692: x, y, z, yaw)
 * with SET cash (W:952), SET exp (W:997), a reputation (W:596) -> logout (save, offline).
 * Every stored value is checked with plain SQL; statements are counted on the servers.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  levelCurve,
  NotFoundError,
  openCluster,
  PresenceLostError,
  RequirementError,
  ValidationError,
  type Cluster,
} from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
const NODES = ['global-primary', 'alpha-primary', 'beta-primary'] as const;
type Node = (typeof NODES)[number];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

const conns = new Map<string, Connection>();
/** One root connection per node for the whole file (t.sql opens a new one each call). */
async function sql(node: Node): Promise<Connection> {
  if (!conns.has(node)) conns.set(node, await t.sql(node));
  return conns.get(node)!;
}
async function one(node: Node, text: string, params: unknown[] = []): Promise<RowDataPacket> {
  const [rows] = await (await sql(node)).query<RowDataPacket[]>(text, params);
  return rows[0]!;
}

/** Statements and commits each primary has received so far (SHOW STATUS counts in none of these). */
const COUNTED = ['Com_stmt_execute', 'Com_select', 'Com_insert', 'Com_update', 'Com_delete', 'Com_begin', 'Com_commit', 'Com_xa_commit'];
async function counters(): Promise<Record<Node, Record<string, number>>> {
  const out = {} as Record<Node, Record<string, number>>;
  for (const node of NODES) {
    const [rows] = await (
      await sql(node)
    ).query<RowDataPacket[]>(`SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTED.map(() => '?').join(', ')})`, COUNTED);
    out[node] = Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
  }
  return out;
}
function delta(before: Record<Node, Record<string, number>>, after: Record<Node, Record<string, number>>, names: string[]) {
  return Object.fromEntries(NODES.map((n) => [n, names.reduce((sum, k) => sum + (after[n][k]! - before[n][k]!), 0)])) as Record<
    Node,
    number
  >;
}
/** Statements a node executed (prepared executions; the library sends its SQL as prepared statements). */
const STATEMENTS = ['Com_stmt_execute'];

describe("mxo-hd's world entry, save and logout", () => {
  it('spawns from storage in one call (<= 3 statements over every node), saves absolute values in one fenced transaction', async () => {
    const db = t.db;
    const { accountId } = await db.accounts.register({
      username: 'thomas',
      email: 'thomas@metacortex.example',
      password: 'follow-the-rabbit',
    });
    const neo = (
      await db.characters.create({
        accountId,
        name: 'Neo',
        appearance: { sex: 0, body: 1, hatModel: 40, coatModel: 50 },
        firstName: 'Thomas',
        lastName: 'Anderson',
        background: 'Programmer by day.',
        districtId: 1,
      })
    ).characterId;
    const trinity = (await db.characters.create({ accountId, name: 'Trinity', gender: 'female', districtId: 4 })).characterId;
    const morpheus = (await db.characters.create({ accountId, name: 'Morpheus', districtId: 2 })).characterId;
    await (await sql('global-primary')).query('UPDATE accounts SET admin_level = 2 WHERE account_id = ?', [accountId]);
    await db.worlds.register({ worldId: 1, name: 'Recursion' });
    await db.worlds.assignCharacter(neo, 1);

    // The kit: a client item by goid in a backpack slot, an ability in the loadout, reputations.
    const goid = 0x8a0f0012;
    const shades = await db.items.defineTemplate({
      itemName: 'Shades',
      itemType: 'clothing',
      itemSubtype: 'sunglasses',
      clientObjectId: goid,
    });
    const granted = await db.inventory.grantByClientId(neo, goid, { slot: 5, count: 1, purity: 200 });
    expect(granted).toMatchObject({ slotPosition: 5, clientItemId: goid, templateId: shades, purity: 200 });
    await expect(db.inventory.grantByClientId(neo, 0x1234, { slot: 6 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(db.inventory.grantByClientId(neo, goid, { slot: 0x61 })).rejects.toBeInstanceOf(ValidationError);
    expect((await db.inventory.list(neo)).map((i) => i.clientItemId)).toEqual([goid]);
    expect((await db.inventory.getBySlot(neo, 5))?.clientItemId).toBe(goid);
    const { abilityId: ability } = await db.abilities.defineAbility({ abilityId: 0x80000012, abilityName: 'Hyper Jump' });
    await db.abilities.learn(neo, ability);
    await db.abilities.setLoadout(neo, [{ slot: 12, abilityId: ability, loaded: true }]);
    await db.factions.adjustReputation(neo, 'niobe', 25);

    // Sides, crews and a faction made of crews (mxo-hd's model), buddies, a hardline, a bookmark.
    expect(await db.characters.setFaction(neo, 'zion')).toEqual({ faction: 'zion', alignment: 1 });
    expect((await db.characters.identity(neo)).profile.alignment).toBe(1);
    const { crewId } = await db.crews.create({ captainId: neo, crewName: 'Nebuchadnezzar' });
    await db.crews.join(crewId, trinity);
    await db.crews.setRole(crewId, neo, trinity, 'first_mate');
    const logos = (await db.crews.create({ captainId: morpheus, crewName: 'Logos' })).crewId;
    await expect(
      db.organizations.createFromCrews({ name: 'Zion Guard', crewIds: [crewId, logos], masterId: trinity }),
    ).rejects.toBeInstanceOf(
      RequirementError, // no side taken
    );
    // The master must captain one of the crews; a refusal changes nothing.
    await expect(
      db.organizations.createFromCrews({ name: 'Zion Guard', crewIds: [crewId], masterId: morpheus, faction: 'zion' }),
    ).rejects.toBeInstanceOf(RequirementError);
    const { organizationId } = await db.organizations.createFromCrews({ name: 'Zion Guard', crewIds: [crewId, logos], masterId: neo });
    // Atomic: a crew already in a faction refuses the whole, no organization row is left behind.
    await expect(
      db.organizations.createFromCrews({ name: 'Second Guard', crewIds: [logos], masterId: morpheus, faction: 'zion' }),
    ).rejects.toThrow(/already belongs/);
    expect(await one('global-primary', "SELECT COUNT(*) AS n FROM organizations WHERE organization_name <> 'Zion Guard'")).toMatchObject({
      n: 0,
    });
    expect(await one('global-primary', 'SELECT COUNT(*) AS n FROM crews WHERE organization_id = ?', [organizationId])).toMatchObject({
      n: 2,
    });
    await db.social.addBuddy(neo, 'Trinity');
    const { hardlineId } = await db.world.defineHardline({
      districtId: 1,
      hardlineName: 'Park',
      position: { x: 1, y: 2, z: 3 },
      hardlineNumber: 3,
      yaw: 2.5,
    });
    await db.world.discoverHardline(neo, 1, 3);

    // World entry: the UDP session names only the character; the server finds the pending ticket.
    const { ticket } = await db.presence.issueHandoff({ accountId, characterId: neo, serverId: 'district-1', districtId: 1 });
    expect(await db.presence.pendingHandoff(neo, 'district-1')).toMatchObject({ accountId, characterId: neo, districtId: 1 });
    expect(await db.presence.pendingHandoff(neo, 'district-2')).toBeNull();
    const { claim } = await db.presence.consumeHandoff(ticket, 'district-1');
    expect(await db.presence.pendingHandoff(neo, 'district-1')).toBeNull();

    // A district server process that has never seen the character (its directory cache is cold).
    // Statements are the prepared executions the library sends (Com_stmt_execute).
    const world: Cluster = await openCluster(t.config);
    // Each process refreshes the district placement on global every 5 s: not during the counts.
    t.db.admin.stop();
    world.admin.stop();
    try {
      await Promise.all([world.characters.spawn(morpheus), world.characters.spawn(morpheus)]);
      const before = await counters();
      const spawn = await world.characters.spawn(neo);
      const after = await counters();
      const statements = delta(before, after, ['Com_stmt_execute']);
      // A directory read (cold cache), one statement on the shard, one on global; nothing on beta.
      expect(statements['global-primary'] + statements['alpha-primary'] + statements['beta-primary']).toBeLessThanOrEqual(3);
      expect(statements).toEqual({ 'global-primary': 2, 'alpha-primary': 1, 'beta-primary': 0 });
      // (A connection the pool opens meanwhile sends its session setup as text statements: the pool's, not the call's.)
      // With the route cached: one statement per node.
      const cached = await counters();
      await world.characters.spawn(neo);
      expect(delta(cached, await counters(), ['Com_stmt_execute'])).toEqual({ 'global-primary': 1, 'alpha-primary': 1, 'beta-primary': 0 });

      expect(spawn).toMatchObject({
        characterId: neo,
        accountId,
        name: 'Neo',
        firstName: 'Thomas',
        lastName: 'Anderson',
        background: 'Programmer by day.',
        worldId: 1,
        districtId: 1,
        position: { x: 0, y: 0, z: 0 },
        yaw: 0,
        health: 200,
        maxHealth: 200,
        innerStrength: 160,
        maxInnerStrength: 160,
        level: 1,
        experience: 0,
        money: 0,
        faction: 'zion',
        alignment: 1,
        pvpFlag: false,
        adminLevel: 2,
        appearance: { sex: 0, body: 1, hatModel: 40, coatModel: 50 },
        inventory: [
          { itemId: granted.itemId, slot: 5, clientItemId: goid, templateId: shades, count: 1, purity: 200, containerType: 'inventory' },
        ],
        loadout: [{ slot: 12, abilityId: ability, loaded: true }],
        abilities: [{ abilityId: ability, level: 1 }],
        knownHardlines: [{ districtId: 1, hardlineNumber: 3 }],
        organization: { organizationId, name: 'Zion Guard', faction: 'zion', masterId: neo, money: 0 },
        buddies: [{ characterId: trinity, name: 'Trinity', online: false }],
        shard: 'alpha',
      });
      expect(spawn.reputations).toEqual({
        reputations: { zion_military: 0, machines: 0, merovingian: 0, niobe: 25, epn: 0, cypherites: 0, gm: 0 },
        cqPoints: 0,
      });
      expect(spawn.crew).toEqual({
        crewId,
        name: 'Nebuchadnezzar',
        captainId: neo,
        organizationId,
        money: 0,
        members: [
          { characterId: neo, name: 'Neo', role: 'captain', online: true },
          { characterId: trinity, name: 'Trinity', role: 'first_mate', online: false },
        ],
      });
      expect(await world.crews.ofCharacter(trinity)).toEqual(spawn.crew);
      expect(await world.crews.byName('nebuchadnezzar')).toEqual(spawn.crew);
      expect(await world.crews.byName('No Such Crew')).toBeNull();

      // A periodic save: absolute values as the server holds them, doubles and a yaw byte.
      const position = { x: 17_020.123456789, y: 495.000001, z: -2_693.987654321 };
      const saveBefore = await counters();
      const saved = await world.characters.save(
        neo,
        {
          experience: 5_200,
          money: 740,
          health: 480,
          innerStrength: 190,
          position,
          yaw: 139,
          reputations: { zion_military: 120, machines: -50 },
          level: 3,
        },
        { fencingToken: claim.fencingToken },
      );
      const saveAfter = await counters();
      expect(saved).toEqual({ level: 3, experience: 5_200, money: 740 });
      // One local transaction on the character's shard; global and beta untouched.
      expect(delta(saveBefore, saveAfter, ['Com_commit', 'Com_xa_commit'])).toEqual({
        'global-primary': 0,
        'alpha-primary': 1,
        'beta-primary': 0,
      });
      expect(delta(saveBefore, saveAfter, STATEMENTS)['global-primary']).toBe(0);

      const row = await one(
        'alpha-primary',
        `SELECT experience, money, health, inner_strength, position_x, position_y, position_z, yaw, level, pvp_flag
           FROM characters WHERE character_id = ?`,
        [neo],
      );
      expect(row).toMatchObject({ experience: 5_200, money: 740, health: 480, inner_strength: 190, yaw: 139, level: 3, pvp_flag: 0 });
      expect([row.position_x, row.position_y, row.position_z]).toEqual([position.x, position.y, position.z]);
      const reps = (
        await (
          await sql('alpha-primary')
        ).query<RowDataPacket[]>('SELECT organization, points FROM character_reputations WHERE character_id = ? ORDER BY organization', [
          neo,
        ])
      )[0];
      expect(reps.map((r) => [r.organization, r.points])).toEqual([
        ['zion_military', 120],
        ['machines', -50],
        ['niobe', 25],
      ]);
      expect(
        await one(
          'alpha-primary',
          "SELECT to_character_id, money_amount, transaction_reason FROM transaction_history WHERE transaction_type = 'server_save'",
        ),
      ).toMatchObject({ to_character_id: neo, money_amount: 740, transaction_reason: 'server_save' });

      // The next save lowers the money: the difference goes out of the ledger; the spawn reads back what was saved.
      await world.characters.save(neo, { money: 700, yaw: 3.14159, pvpFlag: true }, { fencingToken: claim.fencingToken });
      expect(
        await one(
          'alpha-primary',
          "SELECT from_character_id, money_amount FROM transaction_history WHERE transaction_type = 'server_save' ORDER BY transaction_id DESC LIMIT 1",
        ),
      ).toMatchObject({ from_character_id: neo, money_amount: 40 });
      const again = await world.characters.spawn(neo, { consistency: 'strong' });
      expect(again).toMatchObject({
        position,
        yaw: 3.14159,
        money: 700,
        experience: 5_200,
        level: 3,
        health: 480,
        innerStrength: 190,
        pvpFlag: true,
      });
      expect(again.reputations.reputations).toMatchObject({ zion_military: 120, machines: -50, niobe: 25 });
      const report = await db.verify();
      expect(report.violations).toEqual([]);

      // A stale token (another server took the character over) saves nothing.
      const stale = claim.fencingToken + 1;
      await expect(world.characters.save(neo, { money: 1, experience: 1 }, { fencingToken: stale })).rejects.toBeInstanceOf(
        PresenceLostError,
      );
      expect(await one('alpha-primary', 'SELECT money, experience FROM characters WHERE character_id = ?', [neo])).toMatchObject({
        money: 700,
        experience: 5_200,
      });

      // Logout: the last save, then the claim is released; a save after it is refused.
      await world.characters.save(neo, { position: { x: 1.5, y: 2.5, z: 3.5 } }, { fencingToken: claim.fencingToken });
      await world.presence.release(neo, claim.fencingToken);
      await expect(world.characters.save(neo, { money: 5 }, { fencingToken: claim.fencingToken })).rejects.toBeInstanceOf(
        PresenceLostError,
      );
      expect(
        await one('alpha-primary', 'SELECT is_online, presence_token, position_x, money FROM characters WHERE character_id = ?', [neo]),
      ).toMatchObject({
        is_online: 0,
        presence_token: null,
        position_x: 1.5,
        money: 700,
      });
      expect((await world.crews.ofCharacter(neo))!.members.find((m) => m.characterId === neo)!.online).toBe(false);
    } finally {
      t.db.admin.start();
      await world.close();
    }

    // Hardlines with yaw: update, the cluster-wide list, remove. Bookmarks move with the character.
    expect(await db.world.updateHardline(hardlineId, { yaw: 1.25, position: { x: 10.5, y: 0, z: -4.25 } })).toMatchObject({
      hardlineId,
      yaw: 1.25,
      position: { x: 10.5, y: 0, z: -4.25 },
    });
    const beta = (await db.world.defineHardline({ districtId: 5, hardlineName: 'Pier', position: { x: 0, y: 0, z: 0 }, hardlineNumber: 1 }))
      .hardlineId;
    expect((await db.world.hardlines()).map((h) => [h.hardlineId, h.districtId, h.hardlineNumber, h.yaw])).toEqual([
      [hardlineId, 1, 3, 1.25],
      [beta, 5, 1, 0],
    ]);
    await db.world.removeHardline(beta);
    await expect(db.world.removeHardline(beta)).rejects.toBeInstanceOf(NotFoundError);
    expect((await db.world.hardlines()).map((h) => h.hardlineId)).toEqual([hardlineId]);
    expect(await one('beta-primary', 'SELECT COUNT(*) AS n FROM hardlines WHERE hardline_id = ?', [beta])).toMatchObject({ n: 0 });

    await db.world.setBookmark(neo, 'home', { districtId: 1, position: { x: 17_020.5, y: 495, z: 2_693.25 }, yaw: 139 });
    await db.world.setBookmark(neo, 'home', { districtId: 2, position: { x: 1, y: 2, z: 3 } });
    await db.world.setBookmark(neo, 'pier', { districtId: 5, position: { x: 4, y: 5, z: 6 }, yaw: 7 });
    await expect(db.world.setBookmark(neo, 'nowhere', { districtId: 999, position: { x: 0, y: 0, z: 0 } })).rejects.toThrow(/999/);
    await db.characters.moveToDistrict(neo, 4); // to beta: the bookmarks move with the character
    expect(await db.world.bookmarks(neo)).toEqual([
      { name: 'home', districtId: 2, position: { x: 1, y: 2, z: 3 }, yaw: 0 },
      { name: 'pier', districtId: 5, position: { x: 4, y: 5, z: 6 }, yaw: 7 },
    ]);
    expect(await one('beta-primary', 'SELECT COUNT(*) AS n FROM character_bookmarks WHERE character_id = ?', [neo])).toMatchObject({
      n: 2,
    });

    // A member crew's first mate uses the faction's bank; a plain member of it may only deposit.
    await db.characters.adjustMoney(trinity, 300, 'admin_grant');
    expect(await db.organizations.deposit(organizationId, trinity, 200)).toMatchObject({ money: 100, treasury: 200 });
    expect(await db.organizations.withdraw(organizationId, trinity, 50)).toMatchObject({ money: 150, treasury: 150 });
    expect(await db.organizations.withdraw(organizationId, morpheus, 50)).toMatchObject({ money: 50, treasury: 100 }); // a member crew's captain
    const { accountId: other } = await db.accounts.register({
      username: 'cypher',
      email: 'cypher@zion.example',
      password: 'steak-is-real',
    });
    const cypher = (await db.characters.create({ accountId: other, name: 'Cypher', districtId: 1 })).characterId;
    await db.crews.join(logos, cypher);
    await db.characters.adjustMoney(cypher, 30, 'admin_grant');
    expect(await db.organizations.deposit(organizationId, cypher, 30)).toMatchObject({ money: 0, treasury: 130 });
    await expect(db.organizations.withdraw(organizationId, cypher, 10)).rejects.toThrow(/no treasury permission/);
    expect((await db.verify()).violations).toEqual([]);
  });

  it('refuses a save that does not fit the client or the columns, before any SQL, naming the field', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'apoc', email: 'apoc@zion.example', password: 'operator-apoc' });
    const apoc = (await t.db.characters.create({ accountId, name: 'Apoc', districtId: 1 })).characterId;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ health: 65_536 }, 'health'],
      [{ innerStrength: -1 }, 'innerStrength'],
      [{ maxHealth: 70_000 }, 'maxHealth'],
      [{ reputations: { niobe: 32_768 } }, 'reputations.niobe'],
      [{ reputations: { nobody: 1 } }, 'reputations'],
      [{ money: -1 }, 'money'],
      [{ money: 2 ** 31 }, 'money'],
      [{ experience: 2 ** 31 }, 'experience'],
      [{ level: 128 }, 'level'],
      [{ position: { x: Number.NaN, y: 0, z: 0 } }, 'position.x'],
      [{ yaw: Number.POSITIVE_INFINITY }, 'yaw'],
      [{ districtId: 2 }, ''],
    ];
    for (const [values, field] of cases) {
      const error = await t.db.characters.save(apoc, values as never, { fencingToken: 1 }).catch((e: unknown) => e);
      expect(error, JSON.stringify(values)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fields.join(','), JSON.stringify(values)).toContain(field);
    }
    await expect(t.db.characters.save(apoc, {}, {} as never)).rejects.toBeInstanceOf(ValidationError);
    // Without a claim nothing is saved either.
    await expect(t.db.characters.save(apoc, { money: 5 }, { fencingToken: 1 })).rejects.toBeInstanceOf(PresenceLostError);
    expect(await one('alpha-primary', 'SELECT money FROM characters WHERE character_id = ?', [apoc])).toMatchObject({ money: 0 });
    await expect(t.db.characters.spawn(987_654)).rejects.toBeInstanceOf(NotFoundError);

    // Experience is stored as given: no re-levelling by the library's curve, unless the cluster
    // was opened with a curve and the save names no level.
    const { fencingToken } = await t.db.presence.claim(apoc, { serverId: 'district-1', districtId: 1 });
    expect(await t.db.characters.save(apoc, { experience: 5_000 }, { fencingToken })).toEqual({ level: 1, experience: 5_000, money: 0 });
    const curved = await openCluster(t.config, { levelCurve: levelCurve({ base: 100 }) });
    try {
      // 100 * (level - 1)^2 <= 5,000: level 8.
      expect(await curved.characters.save(apoc, { experience: 5_000 }, { fencingToken })).toEqual({
        level: 8,
        experience: 5_000,
        money: 0,
      });
      expect(await curved.characters.save(apoc, { experience: 5_000, level: 2 }, { fencingToken })).toMatchObject({ level: 2 });
    } finally {
      await curved.close();
    }
    expect(await one('alpha-primary', 'SELECT level, experience FROM characters WHERE character_id = ?', [apoc])).toMatchObject({
      level: 2,
      experience: 5_000,
    });
    await expect(t.db.characters.setFaction(apoc, 'agents' as never)).rejects.toBeInstanceOf(ValidationError);
  });
});
