/**
 * Contract part four: the client's field widths are the limits. Every field of part four that
 * carries a client value is walked: just inside its limit it is accepted, just outside it is a
 * ValidationError naming the field and the client's limit, and no statement reached any server
 * (counted with Com_stmt_execute on every primary) and nothing changed.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RSI_BITS, ValidationError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

let t: TestCluster;
let accountId: number;
let neo: number;
let hardlineId: number;

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  ({ accountId } = await t.db.accounts.register({ username: 'widths', email: 'widths@zion.example', password: 'width-of-a-byte' }));
  neo = (await t.db.characters.create({ accountId, name: 'Neo', districtId: 1 })).characterId;
  hardlineId = (await t.db.world.defineHardline({ districtId: 1, hardlineName: 'Park', position: { x: 0, y: 0, z: 0 } })).hardlineId;
  t.db.admin.stop(); // the placement refresh (one statement on global every 5 s) would blur the counts
});
afterAll(async () => t?.stop());

const NODES = ['global-primary', 'alpha-primary', 'beta-primary'];
const conns = new Map<string, Connection>();
/** One root connection per node for the whole file (t.sql opens a new one each call). */
async function sql(node: string): Promise<Connection> {
  if (!conns.has(node)) conns.set(node, await t.sql(node));
  return conns.get(node)!;
}
async function executed(): Promise<number> {
  let sum = 0;
  for (const node of NODES) {
    const [rows] = await (await sql(node)).query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'");
    sum += Number(rows[0]!.Value);
  }
  return sum;
}

/**
 * Expects `call` to be refused before any SQL with a ValidationError naming `field` and matching
 * `limit`. The placement refresh is stopped; should any other background statement land, a refusal
 * is retried (up to 3 times): a call that sends SQL does so every time.
 */
async function refused(label: string, call: () => Promise<unknown>, field: string, limit: RegExp): Promise<void> {
  let ran = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await executed();
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, label).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    expect(v.fields, label).toContain(field);
    expect(v.issues.find((i) => i.field === field)!.message, label).toMatch(limit);
    ran = (await executed()) - before;
    if (ran === 0) return;
  }
  expect(ran, `${label}: no statement ran`).toBe(0);
}

const create = (extra: Record<string, unknown>) => t.db.characters.create({ accountId, name: 'Probe', districtId: 1, ...extra } as never);

describe("the client's field widths", () => {
  it('handles: single-byte, no spaces, at most 31 bytes (create and reserveName)', async () => {
    const longest = 'N'.repeat(31);
    // create names the field; reserveName's one argument is the name itself (the error says 'invalid name').
    const calls: Array<[(name: string) => Promise<unknown>, string]> = [
      [(name) => create({ name }), 'name'],
      [(name) => t.db.characters.reserveName(accountId, name), ''],
    ];
    for (const [call, field] of calls) {
      await refused('32 bytes', () => call(`${longest}x`), field, /at most 31 bytes/);
      await refused('a space', () => call('Agent Smith'), field, /spaces/);
      await refused('Cyrillic', () => call('Нео'), field, /single-byte/);
      await refused('empty', () => call(''), field, /empty/);
    }
    await expect(t.db.characters.reserveName(accountId, 'Agent Smith')).rejects.toThrow(/invalid name/);
    expect((await t.db.characters.reserveName(accountId, longest)).name).toBe(longest);
    expect((await create({ name: longest })).characterName).toBe(longest);
    expect((await create({ name: 'Zoë_O-Neill' })).characterName).toBe('Zoë_O-Neill'); // Latin-1 fits one byte
  });

  it('first and last names at most 31 bytes, background at most 1,023 (create and setProfile)', async () => {
    for (const field of ['firstName', 'lastName'] as const) {
      await refused(`create ${field}`, () => create({ [field]: 'a'.repeat(32) }), field, /at most 31 bytes/);
      await refused(`profile ${field}`, () => t.db.characters.setProfile(neo, { [field]: 'a'.repeat(32) }), field, /at most 31 bytes/);
      await refused(`profile ${field} emoji`, () => t.db.characters.setProfile(neo, { [field]: '😀' }), field, /single-byte/);
      expect((await t.db.characters.setProfile(neo, { [field]: 'a'.repeat(31) }))[field]).toBe('a'.repeat(31));
    }
    await refused('create background', () => create({ background: 'b'.repeat(1_024) }), 'background', /at most 1023 bytes/);
    await refused('profile background', () => t.db.characters.setProfile(neo, { background: 'b'.repeat(1_024) }), 'background', /1023/);
    expect((await t.db.characters.setProfile(neo, { background: `${'b'.repeat(1_000)}\nline two` })).background).toHaveLength(1_009);
    await refused('alignment', () => t.db.characters.setProfile(neo, { alignment: 256 }), 'alignment', /255/);
    // The alignment code and the seed's faction are one idea.
    await t.db.characters.setProfile(neo, { alignment: 3 });
    expect((await t.db.characters.get(neo)).faction).toBe('merovingian');
  });

  it('every RSI field within its bit width, by sex (create and setAppearance)', async () => {
    for (const [field, [male, female]] of Object.entries(RSI_BITS)) {
      for (const [sex, bits] of [
        [0, male],
        [1, female],
      ] as const) {
        const max = 2 ** bits - 1;
        const appearance = { sex, [field]: field === 'sex' ? sex : max + 1 };
        if (field !== 'sex')
          await refused(`create ${field} sex ${sex}`, () => create({ appearance }), `appearance.${field}`, new RegExp(`${max}`));
        if (field !== 'sex')
          await refused(`set ${field} sex ${sex}`, () => t.db.characters.setAppearance(neo, appearance), field, new RegExp(`${max}`));
      }
      // The wider of the two sexes is accepted at the call; the stored sex decides in the transaction.
      const widest = 2 ** Math.max(male, female) - 1;
      if (field !== 'sex')
        await refused(`set ${field} any sex`, () => t.db.characters.setAppearance(neo, { [field]: widest + 1 }), field, /bits|0/);
    }
    // Neo is male (sex 0 by gender): a female-only width is refused by the transaction, nothing changed.
    const before = (await t.db.characters.identity(neo)).appearance;
    await expect(t.db.characters.setAppearance(neo, { leggingsModel: 3 })).rejects.toBeInstanceOf(ValidationError);
    await expect(t.db.characters.setAppearance(neo, { gloveModel: 1 } as never)).rejects.toBeInstanceOf(ValidationError);
    expect((await t.db.characters.identity(neo)).appearance).toEqual(before);
    // Just inside every width works.
    const female = Object.fromEntries(Object.entries(RSI_BITS).map(([f, [, bits]]) => [f, f === 'sex' ? 1 : 2 ** bits - 1]));
    expect(await t.db.characters.setAppearance(neo, female)).toMatchObject(female);
  });

  it('16-bit health, inner strength and reputations; money, experience, level, positions and yaw (save, updateVitals)', async () => {
    const save = (values: Record<string, unknown>) => t.db.characters.save(neo, values as never, { fencingToken: 1 });
    for (const field of ['health', 'maxHealth', 'innerStrength', 'maxInnerStrength']) {
      await refused(`${field} 65536`, () => save({ [field]: 65_536 }), field, /65,535/);
      await refused(`${field} -1`, () => save({ [field]: -1 }), field, /at least 0/);
    }
    for (const rep of ['zion_military', 'machines', 'merovingian', 'niobe', 'epn', 'cypherites', 'gm']) {
      await refused(`${rep} 32768`, () => save({ reputations: { [rep]: 32_768 } }), `reputations.${rep}`, /32,767/);
      await refused(`${rep} -32769`, () => save({ reputations: { [rep]: -32_769 } }), `reputations.${rep}`, /-32,768/);
    }
    await refused('money', () => save({ money: 2 ** 31 }), 'money', /2,147,483,647/);
    await refused('experience', () => save({ experience: 2 ** 31 }), 'experience', /2,147,483,647/);
    await refused('level', () => save({ level: 128 }), 'level', /127/);
    await refused('position', () => save({ position: { x: Infinity, y: 0, z: 0 } }), 'position.x', /finite|Infinity|number/i);
    await refused('yaw', () => save({ yaw: Number.NaN }), 'yaw', /number|nan/i);
    await refused('vitals', () => t.db.characters.updateVitals(neo, { health: 65_536 }), 'health', /65,535/);
    // A reputation adjusted by delta stays within the client's field.
    expect(await t.db.factions.adjustReputation(neo, 'gm', 1_000_000)).toEqual({ points: 32_767 });
    expect(await t.db.factions.adjustReputation(neo, 'gm', -1_000_000)).toEqual({ points: -32_768 });
  });

  it('world ids 16-bit and world names at most 19 bytes', async () => {
    await refused('world id', () => t.db.worlds.register({ worldId: 65_536, name: 'Recursion' }), 'worldId', /65,535/);
    await refused('world name', () => t.db.worlds.register({ worldId: 2, name: 'R'.repeat(20) }), 'name', /at most 19 bytes/);
    await refused('assign', () => t.db.worlds.assignCharacter(neo, 70_000), '', /65,535/);
    expect(await t.db.worlds.register({ worldId: 65_535, name: 'R'.repeat(19) })).toMatchObject({ worldId: 65_535 });
  });

  it('item purity a byte, grants by client id into the backpack; hardline and bookmark yaw and names', async () => {
    await refused('purity', () => t.db.inventory.grantByClientId(neo, 1, { purity: 256 }), 'purity', /255/);
    await refused('worn slot', () => t.db.inventory.grantByClientId(neo, 1, { slot: 0x61 }), 'slot', /backpack/);
    await refused('client id', () => t.db.inventory.grantByClientId(neo, 2 ** 32), '', /32-bit/);
    await refused('hardline yaw', () => t.db.world.updateHardline(hardlineId, { yaw: 1e6 }), 'yaw', /65,536/);
    await refused(
      'define yaw',
      () => t.db.world.defineHardline({ districtId: 1, hardlineName: 'Pier', position: { x: 0, y: 0, z: 0 }, yaw: Infinity }),
      'yaw',
      /number|finite|65,536/i,
    );
    await refused(
      'bookmark name',
      () => t.db.world.setBookmark(neo, 'b'.repeat(32), { districtId: 1, position: { x: 0, y: 0, z: 0 } }),
      '',
      /31 bytes/,
    );
    await refused(
      'bookmark position',
      () => t.db.world.setBookmark(neo, 'home', { districtId: 1, position: { x: 0, y: 2e9, z: 0 } }),
      'position.y',
      /1e9/,
    );
  });
});
