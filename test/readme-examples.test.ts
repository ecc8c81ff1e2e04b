/**
 * README's examples run as written against the shipped config.
 *
 * Every ```ts block of README.md is taken from the README itself (never a copy) and
 * - type-checked: one module per block, `'mxo-data'` resolved to src/index.ts, the block's free
 *   variables declared with the types written next to its setup below, the repo's tsconfig
 *   options; any diagnostic fails the test and is printed with its README line;
 * - run verbatim: its `import { ... } from 'mxo-data'` lines are removed and those names passed in
 *   from src/index.ts, the rest transpiled by TypeScript (ES2022, ESNext modules) into the body of
 *   an async function whose parameters are the block's free variables. A setup per block creates
 *   the real rows those variables name (accounts, characters, templates, crews, a presence claim,
 *   ...) through the library, and computes what a player would bring (a TOTP code from the
 *   secret, legacy hashes), so that every call of the block succeeds. A block that throws fails
 *   with its heading, the README line of the statement that threw and that line's text.
 *
 * The cluster has the shape of the shipped shards.config.ts, loaded with the project's config
 * loader: its shard names, districts and options are kept, and only each node's address (host and
 * port) is replaced by a node of a throwaway sandbox with the same topology (global primary, two
 * shards of a primary and one replica). The config's own accounts are used: user `mxo` is created
 * on every sandbox node, with the password each node's config reads (MXO_DB_PASSWORD, or
 * `passwordEnv` MXO_BETA_PASSWORD for beta's primary), and those variables are given to the
 * library through `openCluster`'s `env`. The first block's `openCluster('shards.config.ts')` is the
 * harness's: it checks that argument and opens that mapped config; the later blocks get a `db`
 * opened the same way. MXO_LOGIN_KEY_SECRET is set for the run, as README requires for
 * `enableTwoFactor` and `storeLoginKeys`.
 *
 * The `## Config` block is a config file, not code to run against this cluster (its addresses are
 * the example's): it is type-checked like the others, and its default export is evaluated and
 * validated with `resolveClusterConfig` (a ConfigError would fail the test).
 *
 * The blocks run in README order on one cluster; later blocks rely on what earlier ones left
 * (block one deletes its account, freeing the names Neo and Trinity that a later block uses).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as mxo from '../src/index.js';
import {
  MXO_HD_STARTING_ABILITIES,
  NameTakenError,
  openCluster,
  resolveClusterConfig,
  startSandbox,
  totpCode,
  totpStep,
  type Cluster,
  type ClusterConfigInput,
  type NodeInput,
  type Sandbox,
} from '../src/index.js';
import { loadConfigFile } from '../src/config/load-config.js';
import { compileBlock, readmeBlocks, splitImports, typecheckBlocks, type ReadmeBlock } from './support/readme-blocks.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(`${ROOT}README.md`, 'utf8');
const README_LINES = README.split('\n');
const BLOCKS = readmeBlocks(README, 'ts');
const CONFIG_HEADING = 'Config';

/** The environment the mapped config's nodes read their passwords from (random per run). */
const DB_ENV = { MXO_DB_PASSWORD: `db-${randomBytes(12).toString('hex')}`, MXO_BETA_PASSWORD: `beta-${randomBytes(12).toString('hex')}` };
/** The password of the accounts the setups register. */
const PASSWORD = 'follow-the-white-rabbit';

let sandbox: Sandbox | undefined;
let mapped: ClusterConfigInput;
/** Every cluster the harness opened (the first block's too): closed in afterAll. */
const opened: Cluster[] = [];
let shared: Cluster | undefined;
let migrated = false;
const savedSecret = process.env.MXO_LOGIN_KEY_SECRET;

/** Opens the shipped config mapped onto the sandbox, with the passwords its nodes name. */
async function openMapped(): Promise<Cluster> {
  const db = await openCluster(mapped, { env: { ...process.env, ...DB_ENV } });
  opened.push(db);
  return db;
}

/** The `db` the blocks after the first use (migrated: block one did it, else here). */
async function harnessDb(): Promise<Cluster> {
  if (!shared) {
    shared = await openMapped();
    if (!migrated) await shared.migrate();
    migrated = true;
  }
  return shared;
}

/** `openCluster` as the first block sees it: `shards.config.ts` is the shipped config on the sandbox. */
async function readmeOpenCluster(configOrPath: unknown): Promise<Cluster> {
  if (configOrPath !== 'shards.config.ts')
    throw new Error(`README's first block opens ${JSON.stringify(configOrPath)}, not 'shards.config.ts'`);
  const db = await openMapped();
  const migrate = db.migrate.bind(db);
  db.migrate = async () => {
    const report = await migrate();
    migrated = true;
    return report;
  };
  return db;
}

beforeAll(async () => {
  process.env.MXO_LOGIN_KEY_SECRET = randomBytes(32).toString('hex');
  // The shipped config, through the loader openCluster uses for a path.
  const shipped = (await loadConfigFile(`${ROOT}shards.config.ts`)) as ClusterConfigInput;
  const replicas = new Set(shipped.shards.map((s) => (s.replicas ?? []).length));
  expect(replicas.size, 'the shipped shards have the same number of replicas').toBe(1);
  sandbox = await startSandbox({
    shards: shipped.shards.length,
    replicasPerShard: [...replicas][0],
    globalReplicas: (shipped.global.replicas ?? []).length,
  });
  const box = sandbox;
  const at = (node: NodeInput, name: string): NodeInput => {
    const { host, port } = box.node(name);
    if (typeof node !== 'string') return { ...node, host, port };
    const url = new URL(node);
    url.hostname = host;
    url.port = String(port);
    return url.toString();
  };
  mapped = {
    ...shipped,
    global: {
      ...shipped.global,
      primary: at(shipped.global.primary, 'global-primary'),
      replicas: (shipped.global.replicas ?? []).map((r, i) => at(r, `global-replica-${i + 1}`)),
    },
    shards: shipped.shards.map((s, i) => ({
      ...s,
      // The sandbox names its shards alpha, beta, ... in order: the shipped ones must be those.
      primary: at(s.primary, `${box.config.shards[i]!.name}-primary`),
      replicas: (s.replicas ?? []).map((r, j) => at(r, `${box.config.shards[i]!.name}-replica-${j + 1}`)),
    })),
  };
  expect(mapped.shards.map((s) => s.name)).toEqual(box.config.shards.map((s) => s.name));
  // The config's account on every node, with the password that node's config reads. Not
  // replicated (sql_log_bin = 0): a replica gets its own, which is what its config names.
  const resolved = resolveClusterConfig(mapped, { ...process.env, ...DB_ENV });
  const nodes = [resolved.global.primary, ...resolved.global.replicas, ...resolved.shards.flatMap((s) => [s.primary, ...s.replicas])];
  for (const node of nodes) {
    const conn = await mysql.createConnection({ host: node.host, port: node.port, user: 'root' });
    try {
      await conn.query('SET SESSION sql_log_bin = 0');
      await conn.query(`CREATE USER '${node.user}'@'%' IDENTIFIED BY ?`, [node.password]);
      await conn.query(`GRANT ALL PRIVILEGES ON *.* TO '${node.user}'@'%' WITH GRANT OPTION`);
    } finally {
      await conn.end();
    }
  }
}, 120_000);

afterAll(async () => {
  const failures: unknown[] = [];
  for (const db of opened) await db.close().catch((e: unknown) => failures.push(e));
  await sandbox?.stop().catch((e: unknown) => failures.push(e));
  if (savedSecret === undefined) delete process.env.MXO_LOGIN_KEY_SECRET;
  else process.env.MXO_LOGIN_KEY_SECRET = savedSecret;
  if (failures.length > 0) throw new AggregateError(failures, 'readme-examples cleanup failed');
});

// ---------------------------------------------------------------------------------------------
// Setups: per README block (by its heading), the free variables' types and real values.

interface Example {
  heading: string;
  /** The free variables' TypeScript types (`Mxo.` names the package's exports). */
  types: Record<string, string>;
  /** Real values for them, made through the library. */
  setup(): Promise<Record<string, unknown>>;
  /** What the block's comments promise, checked after it ran (where a README fix made a claim). */
  check?(values: Record<string, unknown>): Promise<void>;
}

let ownerId: number | undefined;
/** An account for the characters the setups make. */
async function owner(db: Cluster): Promise<number> {
  ownerId ??= (await db.accounts.register({ username: 'readme_owner', password: PASSWORD })).accountId;
  return ownerId;
}
async function character(db: Cluster, name: string, districtId: number, money = 0): Promise<number> {
  const { characterId } = await db.characters.create({ accountId: await owner(db), name, districtId });
  if (money > 0) await db.characters.adjustMoney(characterId, money, 'admin_grant');
  return characterId;
}
/** A presence claim on the character, as its district server takes it: the fencing token. */
async function claim(db: Cluster, characterId: number, districtId: number): Promise<number> {
  return (await db.presence.claim(characterId, { serverId: 'readme-district', districtId })).fencingToken;
}
/** Defines an ability unless an earlier block did. */
async function ability(db: Cluster, abilityId: number, abilityName: string): Promise<void> {
  await db.abilities.defineAbility({ abilityId, abilityName }).catch((e: unknown) => {
    if (!(e instanceof NameTakenError)) throw e;
  });
}
const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');
const position = { x: 10, y: 0, z: 5 };

const EXAMPLES: Example[] = [
  {
    heading: 'Using it',
    types: { password: 'string', ip: 'string' },
    setup: async () => ({ password: PASSWORD, ip: '203.0.113.7' }),
  },
  {
    heading: 'Missions, experience, abilities, factions',
    types: {
      db: 'Mxo.Cluster',
      templateId: 'number',
      characterId: 'number',
      otherId: 'number',
      anotherId: 'number',
      fencingToken: 'number',
    },
    setup: async () => {
      const db = await harnessDb();
      const templateId = await db.items.defineTemplate({ itemName: 'Training Disc', itemType: 'misc' });
      const characterId = await character(db, 'Morpheus', 1);
      const side = (missionName: string) =>
        db.missions.defineTemplate({ missionName, missionType: 'side', objectives: [{ description: 'Deliver it', required: 1 }] });
      const otherId = await side('Courier run');
      const anotherId = await side('Escort');
      await db.missions.accept(characterId, otherId);
      await db.missions.accept(characterId, anotherId);
      return { db, templateId, characterId, otherId, anotherId, fencingToken: await claim(db, characterId, 1) };
    },
    // The mission's 1000 xp reach level 4, gainExperience's 600 more level 5 (Hyper Jump's requirement).
    check: async ({ characterId }) => {
      const after = await (await harnessDb()).characters.get(characterId as number, { consistency: 'strong' });
      expect({ level: after.level, experience: after.experience }).toEqual({ level: 5, experience: 1600 });
    },
  },
  {
    heading: 'Accounts, organizations, crews, moderation, entering the world',
    types: {
      db: 'Mxo.Cluster',
      username: 'string',
      password: 'string',
      ip: 'string',
      totp: 'string',
      email: 'string',
      newPassword: 'string',
      leaderId: 'number',
      characterId: 'number',
      idempotencyKey: 'string',
      crewId: 'number',
      captainId: 'number',
      targetId: 'number',
      reason: 'string',
      moderatorAccountId: 'number',
      expiresAt: 'Date',
      text: 'string',
      message: 'string',
      districtId: 'number',
      since: 'Date',
    },
    setup: async () => {
      const db = await harnessDb();
      const username = 'switch';
      const email = 'switch@zion.example';
      const { accountId } = await db.accounts.register({ username, email, password: PASSWORD });
      // Two-factor on, confirmed with the previous step's code; the login gets the current one.
      const { secret } = await db.accounts.enableTwoFactor(accountId);
      const step = totpStep(Date.now());
      await db.accounts.confirmTwoFactor(accountId, totpCode(secret, step - 1));
      const { accountId: moderatorAccountId } = await db.accounts.register({ username: 'seraph', password: PASSWORD });
      await db.accounts.setAdminLevel(moderatorAccountId, 1);
      const leaderId = await character(db, 'Tank', 1);
      const characterId = await character(db, 'Dozer', 1, 1000);
      await db.characters.setFaction(leaderId, 'zion');
      await db.characters.setFaction(characterId, 'zion');
      const captainId = await character(db, 'Niobe', 1);
      const { crewId } = await db.social.createCrew({ captainId, crewName: 'Mjolnir' });
      const targetId = await character(db, 'Ghost', 4);
      await db.social.setRelationship({ characterId, targetCharacterId: targetId, type: 'friend' });
      return {
        db,
        username,
        password: PASSWORD,
        ip: '203.0.113.8',
        totp: totpCode(secret, step),
        email,
        newPassword: 'there-is-no-spoon',
        leaderId,
        characterId,
        idempotencyKey: 'org-deposit-1',
        crewId,
        captainId,
        targetId,
        reason: 'botting',
        moderatorAccountId,
        expiresAt: new Date(Date.now() + 86_400_000),
        text: 'I was only exploring.',
        message: 'Wake up.',
        districtId: 1,
        since: new Date(Date.now() - 60_000),
      };
    },
  },
  {
    heading: 'Combat, Interlock, world content, vendors, items, trade windows',
    types: {
      db: 'Mxo.Cluster',
      neo: 'number',
      smith: 'number',
      trinity: 'number',
      position: 'Mxo.Position',
      pierHardlineId: 'number',
      fencingToken: 'number',
      shades: 'number',
      idempotencyKey: 'string',
      spareId: 'number',
      itemId: 'number',
      stimId: 'number',
      junkId: 'number',
      gunId: 'number',
      otherTradeId: 'number',
    },
    setup: async () => {
      const db = await harnessDb();
      const neo = await character(db, 'Anderson', 1, 1000);
      const smith = await character(db, 'AgentSmith', 1);
      const trinity = await character(db, 'Trin', 4);
      const { hardlineId: pierHardlineId } = await db.world.defineHardline({ districtId: 1, hardlineName: 'Pier', position });
      const template = (itemName: string, more: Partial<Parameters<Cluster['items']['defineTemplate']>[0]> = {}) =>
        db.items.defineTemplate({ itemName, itemType: 'misc', baseValue: 20, ...more });
      const shades = await template('Shades', { itemType: 'clothing', itemSubtype: 'sunglasses', baseValue: 100 });
      const grant = async (templateId: number, quantity = 1) => (await db.inventory.grant(neo, { templateId, quantity })).itemId;
      const spareId = await grant(await template('Old Scarf'));
      const itemId = await grant(await template('Data Disc'));
      const stimId = await grant(await template('Stim', { itemType: 'consumable', stackSize: 10 }), 5);
      const junkId = await grant(await template('Junk'));
      const gunId = await grant(await template('Pistol', { itemType: 'weapon', baseValue: 200 }));
      const { tradeId: otherTradeId } = await db.trades.open(neo, smith);
      return {
        db,
        neo,
        smith,
        trinity,
        position,
        pierHardlineId,
        fencingToken: await claim(db, neo, 1),
        shades,
        idempotencyKey: 'buy-shades-1',
        spareId,
        itemId,
        stimId,
        junkId,
        gunId,
        otherTradeId,
      };
    },
  },
  {
    heading: 'Client flows: login, character select, world entry',
    types: {
      db: 'Mxo.Cluster',
      username: 'string',
      password: 'string',
      ip: 'string',
      memberIds: 'number[]',
      coat: 'number',
      stim: 'number',
      worldId: 'number',
      districtId: 'number',
      pos: 'Mxo.Position',
      friendA: 'number',
      friendB: 'number',
      crewA: 'number',
      crewB: 'number',
      captain: 'number',
      hardlineId: 'number',
    },
    setup: async () => {
      const db = await harnessDb();
      const username = 'apoc';
      const { accountId } = await db.accounts.register({ username, password: PASSWORD });
      // The account's existing character (the roster's first), on another shard than the new one.
      await db.characters.create({ accountId, name: 'Apoc', districtId: 4 });
      const friendA = await character(db, 'Mouse', 2);
      const friendB = await character(db, 'Cypher', 5);
      const coat = await db.items.defineTemplate({ itemName: 'Trench Coat', itemType: 'clothing', itemSubtype: 'coat' });
      const stim = await db.items.defineTemplate({ itemName: 'Med Stim', itemType: 'consumable', stackSize: 10 });
      // The abilities the new characters start with; 0x80002c00 is the block's own defineMany.
      await ability(db, 0x80000012, 'Kick');
      for (const a of MXO_HD_STARTING_ABILITIES) if (a.abilityId !== 0x80002c00) await ability(db, a.abilityId, `Kit ${a.abilityId}`);
      const { worldId } = await db.worlds.register({ worldId: 7, name: 'Recursion' });
      // An organization made of crews takes its master's side.
      const captain = await character(db, 'Roland', 2);
      await db.characters.setFaction(captain, 'zion');
      const { crewId: crewA } = await db.crews.create({ captainId: captain, crewName: 'Nebuchadnezzar' });
      const { crewId: crewB } = await db.crews.create({ captainId: await character(db, 'Soren', 2), crewName: 'Vigilant Few' });
      const { hardlineId } = await db.world.defineHardline({ districtId: 2, hardlineName: 'Mara', position, hardlineNumber: 1 });
      await db.vendors.define({ vendorName: 'Oracle Kiosk', districtId: 2, position, vendorType: 'general', clientObjectId: 0x9000abcd });
      return {
        db,
        username,
        password: PASSWORD,
        ip: '203.0.113.9',
        memberIds: [friendA, friendB, 999_999],
        coat,
        stim,
        worldId,
        districtId: 0,
        pos: { x: 17_023.125, y: -4.5, z: 3_001.0625 },
        friendA,
        friendB,
        crewA,
        crewB,
        captain,
        hardlineId,
      };
    },
    // Neo (made with the kit) deleted, Trinity kept and logged out; the org made of both crews.
    check: async ({ crewA, crewB }) => {
      const db = await harnessDb();
      expect(await db.characters.findByName('Neo')).toBeNull();
      const trinity = (await db.characters.findByName('Trinity'))!;
      expect(trinity.districtId).toBe(5);
      expect(await db.presence.whereIs([trinity.characterId])).toEqual([null]);
      expect((await db.crews.byName('Nebuchadnezzar'))?.organizationId).toBeGreaterThan(0);
      expect((await db.crews.get(crewB as number)).organizationId).toBe((await db.crews.get(crewA as number)).organizationId);
    },
  },
  {
    heading: 'Client flows: the inventory screen, equip, abilities, profile',
    types: { db: 'Mxo.Cluster', characterId: 'number', itemId: 'number', vendorId: 'number' },
    setup: async () => {
      const db = await harnessDb();
      const characterId = await character(db, 'Sati', 2);
      const template = (itemName: string, itemType: 'clothing' | 'misc', itemSubtype?: string) =>
        db.items.defineTemplate({ itemName, itemType, itemSubtype, baseValue: 40 });
      const grant = async (templateId: number, slotPosition: number) =>
        (await db.inventory.grant(characterId, { templateId, slotPosition })).itemId;
      // Slot 3 and 9 filled (the drag swaps them, bringing a coat to 3), a coat worn at 0x65,
      // something to sell at 4.
      await grant(await template('Belt', 'misc'), 3);
      await grant(await template('Leather Coat', 'clothing', 'coat'), 9);
      const worn = await grant(await template('Vinyl Coat', 'clothing', 'coat'), 20);
      await db.inventory.moveSlot(characterId, 20, 0x65);
      await grant(await template('Keycard', 'misc'), 4);
      const { vendorId } = await db.vendors.define({ vendorName: 'Pawn Shop', districtId: 2, position, vendorType: 'general' });
      await ability(db, 0x80000012, 'Kick');
      await db.abilities.learn(characterId, 0x80000012);
      // The worn coat comes back to slot 3 in the drags; the block wears it again by id.
      return { db, characterId, itemId: worn, vendorId };
    },
  },
  {
    heading: 'Client flows: hardline travel, buddy list, crew bank',
    types: {
      db: 'Mxo.Cluster',
      position: 'Mxo.Position',
      characterId: 'number',
      fencingToken: 'number',
      captainId: 'number',
      mateId: 'number',
      organizationId: 'number',
      accountId: 'number',
      modulus: 'Buffer',
      privateExponent: 'Buffer',
      username: 'string',
      email: 'string',
      hash: 'string',
      salt: 'string',
      user: '{ username: string; passwordHash: string; passwordSalt: string }',
    },
    setup: async () => {
      const db = await harnessDb();
      // The travel's destination, known to the character (discovered standing at it in district 4).
      await db.world.defineHardline({ districtId: 4, hardlineName: 'Archive Gate', position, hardlineNumber: 9 });
      const characterId = await character(db, 'Sparks', 4, 1000);
      await db.world.discoverHardline(characterId, 4, 9);
      await db.characters.moveToDistrict(characterId, 1);
      // The buddy the block adds by handle (a character an earlier block made, else one made here).
      if (!(await db.characters.findByName('Trinity'))) await character(db, 'Trinity', 4);
      const captainId = await character(db, 'Link', 1);
      const mateId = await character(db, 'Zee', 1);
      const leaderId = await character(db, 'Lock', 1);
      await db.characters.setFaction(leaderId, 'zion');
      const { organizationId } = await db.organizations.create({ organizationName: 'Zion Fleet', faction: 'zion', leaderId });
      const salt = 'c0ffee';
      const realitySalt = 'deadbeef';
      return {
        db,
        position,
        characterId,
        fencingToken: await claim(db, characterId, 1),
        captainId,
        mateId,
        organizationId,
        accountId: await owner(db),
        modulus: randomBytes(96),
        privateExponent: randomBytes(96),
        username: 'cypher_old',
        email: 'cypher@zion.example',
        hash: sha1(salt + PASSWORD),
        salt,
        user: { username: 'mouse_old', passwordHash: sha1(sha1(realitySalt) + sha1(PASSWORD)), passwordSalt: realitySalt },
      };
    },
  },
  {
    heading: 'Retry safety and hardening',
    types: { db: 'Mxo.Cluster', id: 'number', templateId: 'number' },
    setup: async () => {
      const db = await harnessDb();
      return {
        db,
        id: await character(db, 'Kid', 1),
        templateId: await db.items.defineTemplate({ itemName: 'Quest Token', itemType: 'misc' }),
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------

/** The README text of a line, trimmed. */
const lineText = (line: number) => README_LINES[line - 1]?.trim() ?? '';

function exampleOf(block: ReadmeBlock): Example {
  const example = EXAMPLES.find((e) => e.heading === block.heading);
  if (!example) throw new Error(`README.md:${block.line}: the block under "${block.heading}" has no setup in test/readme-examples.test.ts`);
  return example;
}

describe('README examples', () => {
  it('finds the README blocks this test knows, each once', () => {
    expect(BLOCKS.map((b) => b.heading)).toEqual([...EXAMPLES.map((e) => e.heading), CONFIG_HEADING]);
  });

  it('type-checks every block', () => {
    const diagnostics = typecheckBlocks(
      BLOCKS.map((block) => ({ block, declarations: block.heading === CONFIG_HEADING ? {} : exampleOf(block).types })),
      `${ROOT}tsconfig.json`,
      `${ROOT}src/index.ts`,
    );
    if (diagnostics.length > 0) console.error(diagnostics.join('\n'));
    expect(diagnostics, diagnostics.join('\n')).toEqual([]);
  });

  for (const block of BLOCKS.filter((b) => b.heading !== CONFIG_HEADING)) {
    it(`runs "${block.heading}" (README.md:${block.line})`, async () => {
      const example = exampleOf(block);
      const values = await example.setup();
      expect(Object.keys(values).sort(), 'the setup gives a value to each typed free variable').toEqual(Object.keys(example.types).sort());
      const { imports } = splitImports(block);
      const provided: Record<string, unknown> = { ...values };
      for (const { imported, local } of imports) {
        if (!(imported in mxo))
          throw new Error(`README.md:${block.line} (block "${block.heading}") imports ${imported}, which mxo-data does not export`);
        provided[local] = imported === 'openCluster' ? readmeOpenCluster : (mxo as Record<string, unknown>)[imported];
      }
      const compiled = compileBlock(block, Object.keys(example.types));
      let line = block.line;
      try {
        await compiled.run((l) => (line = l), provided);
      } catch (error) {
        const e = error as Error;
        throw new Error(
          `README.md:${line} (block "${block.heading}") threw ${e?.name ?? 'a value'}: ${e?.message ?? String(error)}\n    ${lineText(line)}`,
          { cause: error },
        );
      }
      await example.check?.(values);
    });
  }

  it(`"${CONFIG_HEADING}": the example is a valid config`, async () => {
    const block = BLOCKS.find((b) => b.heading === CONFIG_HEADING)!;
    // The file's default export, evaluated: `export default <expr>` becomes `return <expr>`.
    const { imports, body } = splitImports(block);
    expect(body).toMatch(/^export default /m);
    const js = ts.transpileModule(body.replace(/^export default /m, 'return '), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    const value = new Function(...imports.map((i) => i.local), js)(...imports.map((i) => (mxo as Record<string, unknown>)[i.imported]));
    const config = resolveClusterConfig(value, { MXO_DB_PASSWORD: 'example', MXO_BETA_PASSWORD: 'example' });
    expect(config.shards.map((s) => s.name)).toEqual(['alpha', 'beta']);
  });
});
