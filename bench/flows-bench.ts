/**
 * Flows: a district server's hot paths as Hardline Dreams (hdneo/mxo-hd @db445dcd) runs them,
 * through the library on a 2-shard sandbox, beside the raw queries mxo-hd sends for the same
 * steps on one database (mysql2 `execute` on the alpha primary, a copy of mxo-hd's tables:
 * users, characters, rsivalues, inventory, char_abilities, worlds, buddylist).
 *
 * | step            | the library                                                     | mxo-hd (file:line)                              |
 * | login + roster  | login; then byUsername, loginKeys, worlds.list, roster at once  | A:30 user by name + MD5, A:56 characters, A:67 worlds |
 * | select          | spawn (the margin load) and issueHandoff at once                | M:32 character, M:37 inventory, M:69 abilities, W:651 RSI |
 * | enter world     | pendingHandoff, consumeHandoff, spawn                           | W:476 spawn row, W:651 RSI, M:37, M:69, W:111 + W:89 buddies, W:675 online |
 * | save            | characters.save, absolute, fenced (one transaction)             | W:692 SavePlayer (position, RSI), W:952 cash, W:997 exp |
 * | logout          | presence.release, accounts.logout                               | W:675 is_online = 0                              |
 *
 * Figures: per step, p50 over ROUNDS interleaved rounds of PLAYERS flows each (library and raw
 * alternating per player), the ratio library/raw per round (median and each round), and the
 * statements each primary received per flow (the servers' `Questions` counter over sequential
 * flows, minus the counter reads). Passwords: the library hashes with scrypt, mxo-hd compares an
 * MD5 in SQL; the bench lowers this process's scrypt cost to ln=10 so the login ratio shows the
 * database work, and prints one default-cost (ln=17) verification beside it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { configurePasswordHashing, MXO_HD_STARTING_ABILITIES, type Cluster } from '../src/index.js';
import { SCRYPT_LOG_N, hashPassword, verifyPassword } from '../src/crypto/password.js';
import { questions, withBenchCluster } from './bench-cluster.js';
import { median, report, say } from './report.js';
import { fmt, summarize } from './stats.js';

const SUITE = 'flows';
const PLAYERS = Number(process.env.MXO_BENCH_FLOW_PLAYERS ?? 40);
const ROUNDS = Number(process.env.MXO_BENCH_FLOW_ROUNDS ?? 5);
const STEPS = ['login + roster', 'select', 'enter world', 'save', 'logout'] as const;
type Step = (typeof STEPS)[number];
const SERVER = 'bench-world-1';

/** The worn kit mxo-hd's MarginClient.cs:395-401 gives a new character, by goid and slot. */
const WORN = [0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x68].map((slot, i) => ({ goid: 0x8a0f0101 + i, slot }));

export async function run(): Promise<void> {
  configurePasswordHashing({ costLog2: 10 });
  try {
    await withBenchCluster({ shards: 2, replicasPerShard: 0 }, { pool: { max: 16 } }, async ({ db, connect }) => {
      const raw = await connect('alpha-primary');
      const players = await createPlayers(db);
      const mxoHd = await createMxoHdCopy(raw, players.length);
      const counters = {
        global: await connect('global-primary'),
        alpha: raw,
        beta: await connect('beta-primary'),
      };

      const samples = new Map<string, number[][]>(); // `${side} ${step}` -> per round
      const timed = async (key: string, round: number, fn: () => Promise<unknown>) => {
        const t0 = performance.now();
        await fn();
        const ms = performance.now() - t0;
        const rounds = samples.get(key) ?? [];
        (rounds[round] ??= []).push(ms);
        samples.set(key, rounds);
      };
      const ours = (p: PlayerFixture, round: number) => libraryFlow(db, p, (step, fn) => timed(`lib ${step}`, round, fn));
      const theirs = (i: number, round: number) => mxoHdFlow(raw, mxoHd, i, (step, fn) => timed(`raw ${step}`, round, fn));

      // Warm-up: pools, prepared statements, buffer pool.
      for (const [i, p] of players.slice(0, 5).entries()) {
        await ours(p, 0);
        await theirs(i, 0);
      }
      samples.clear();
      for (let r = 0; r < ROUNDS; r++) {
        for (const [i, p] of players.entries()) {
          if ((i + r) % 2 === 0) {
            await ours(p, r);
            await theirs(i, r);
          } else {
            await theirs(i, r);
            await ours(p, r);
          }
        }
      }

      say(`\n${PLAYERS} players x ${ROUNDS} rounds, library and raw alternating per player; p50 per step:`);
      for (const step of STEPS) {
        const lib = samples.get(`lib ${step}`)!;
        const mine = summarize(lib.flat());
        const base = summarize(samples.get(`raw ${step}`)!.flat());
        say(`  ${step.padEnd(16)} library p50 ${fmt(mine.p50).padStart(9)}   mxo-hd raw p50 ${fmt(base.p50).padStart(9)}`);
      }
      for (const step of STEPS) {
        const ratios = samples.get(`lib ${step}`)!.map((r, i) => summarize(r).p50 / summarize(samples.get(`raw ${step}`)![i]!).p50);
        report(SUITE, `${step}: library p50 / mxo-hd raw p50`, ratios, 'x');
      }
      const whole = (side: string) =>
        Array.from({ length: ROUNDS }, (_, r) => STEPS.reduce((sum, step) => sum + summarize(samples.get(`${side} ${step}`)![r]!).p50, 0));
      report(
        SUITE,
        'whole flow: sum of step p50s, library / mxo-hd raw',
        whole('lib').map((v, i) => v / whole('raw')[i]!),
        'x',
      );

      // Statements each primary received per step (sequential flows, the servers' Questions counter).
      const perStep = new Map<string, Record<string, number>>();
      const count = (side: string) => async (step: Step, fn: () => Promise<unknown>) => {
        const before = await questions(counters);
        await fn();
        const after = await questions(counters);
        const total = perStep.get(`${side} ${step}`) ?? {};
        // Minus the SHOW STATUS statement itself on each node.
        for (const k of Object.keys(before)) total[k] = (total[k] ?? 0) + after[k]! - before[k]! - 1;
        perStep.set(`${side} ${step}`, total);
      };
      const n = 10;
      for (let i = 0; i < n; i++) {
        await libraryFlow(db, players[i]!, count('lib'));
        await mxoHdFlow(raw, mxoHd, i, count('raw'));
      }
      say('\nStatements the primaries received per flow step (mean of ' + n + ' sequential flows):');
      say(`  ${'step'.padEnd(16)} ${"library: global / the character's shard".padEnd(42)} mxo-hd raw (one database)`);
      for (const step of STEPS) {
        const lib = perStep.get(`lib ${step}`)!;
        const base = perStep.get(`raw ${step}`)!;
        const per = (v: number) => (v / n).toFixed(1);
        // Half the characters live on alpha, half on beta: their sum is the character's shard.
        say(`  ${step.padEnd(16)} ${`${per(lib.global!)} / ${per(lib.alpha! + lib.beta!)}`.padEnd(42)} ${per(base.alpha!)}`);
        report(SUITE, `${step}: statements, library (all primaries)`, [(lib.global! + lib.alpha! + lib.beta!) / n], '');
        report(SUITE, `${step}: statements, mxo-hd raw`, [base.alpha! / n], '');
      }

      // What the default password cost adds to a login (the library's default, not the bench's ln=10).
      configurePasswordHashing({ costLog2: SCRYPT_LOG_N });
      const { hash } = await hashPassword('default-cost');
      const costs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await verifyPassword('default-cost', hash);
        costs.push(performance.now() - t0);
      }
      say(
        `\nA login at the library's default scrypt cost (ln=${SCRYPT_LOG_N}) adds one verification: ${fmt(median(costs))} (median of 5), on top of the figures above.`,
      );
    });
  } finally {
    configurePasswordHashing({ costLog2: SCRYPT_LOG_N });
  }
}

interface PlayerFixture {
  accountId: number;
  username: string;
  password: string;
  characterId: number;
  districtId: number;
  money: number;
}

/** Accounts with one character each, made as mxo-hd's margin server does (name check, creation with its kit). */
async function createPlayers(db: Cluster): Promise<PlayerFixture[]> {
  const tag = randomBytes(2).toString('hex');
  const { templateIds } = await db.items.defineMany(
    WORN.map((w, i) => ({ itemName: `Flow kit ${i} ${tag}`, itemType: 'clothing', clientObjectId: w.goid })),
  );
  await db.abilities.defineMany(MXO_HD_STARTING_ABILITIES.map((a, i) => ({ abilityId: a.abilityId, abilityName: `Flow ability ${i}` })));
  await db.worlds.register({ worldId: 1, name: 'Recursion' });
  const players: PlayerFixture[] = [];
  for (let i = 0; i < PLAYERS; i++) {
    const username = `flow_${tag}_${i}`;
    const password = `flow-password-${i}`;
    const { accountId } = await db.accounts.register({ username, password });
    await db.accounts.storeLoginKeys(accountId, { modulus: randomBytes(96), privateExponent: randomBytes(96) }, { allowPlaintext: true });
    const districtId = i % 2 === 0 ? 1 : 4; // alpha and beta alike
    const { characterId } = await db.characters.reserveName(accountId, `Flow${tag}${i}`);
    await db.characters.create({
      accountId,
      characterId,
      districtId,
      startingItems: WORN.map((w, k) => ({ templateId: templateIds[k]!, slot: w.slot })),
      startingAbilities: MXO_HD_STARTING_ABILITIES,
    });
    await db.worlds.assignCharacter(characterId, 1);
    players.push({ accountId, username, password, characterId, districtId, money: 0 });
  }
  return players;
}

/** One player's flow through the library; `step` times (or counts) each step. */
async function libraryFlow(db: Cluster, p: PlayerFixture, step: (s: Step, fn: () => Promise<unknown>) => Promise<void>): Promise<void> {
  let sessionToken = '';
  await step('login + roster', async () => {
    sessionToken = (await db.accounts.login({ username: p.username, password: p.password, ip: '10.0.0.1' })).sessionToken;
    await Promise.all([
      db.accounts.byUsername(p.username),
      db.accounts.loginKeys(p.accountId),
      db.worlds.list(),
      db.characters.roster(p.accountId),
    ]);
  });
  let ticket = '';
  await step('select', async () => {
    const [, handoff] = await Promise.all([
      db.characters.spawn(p.characterId),
      db.presence.issueHandoff({
        accountId: p.accountId,
        characterId: p.characterId,
        serverId: SERVER,
        districtId: p.districtId,
        ttlSec: 60,
      }),
    ]);
    ticket = handoff.ticket;
  });
  let fencingToken = 0;
  await step('enter world', async () => {
    await db.presence.pendingHandoff(p.characterId, SERVER);
    fencingToken = (await db.presence.consumeHandoff(ticket, SERVER)).claim.fencingToken;
    await db.characters.spawn(p.characterId);
  });
  p.money += 7;
  await step('save', () =>
    db.characters.save(
      p.characterId,
      {
        position: { x: 100.5 + p.money, y: 0, z: -3.25 },
        yaw: p.money % 256,
        health: 480,
        innerStrength: 190,
        money: p.money,
        experience: p.money * 10,
      },
      { fencingToken },
    ),
  );
  await step('logout', async () => {
    await db.presence.release(p.characterId, fencingToken);
    await db.accounts.logout(sessionToken);
  });
}

interface MxoHdCopy {
  database: string;
  usernames: string[];
}

/** mxo-hd's tables (SQL/reality_hd.sql, the columns its queries use) in their own database, one player per fixture. */
async function createMxoHdCopy(raw: mysql.Connection, players: number): Promise<MxoHdCopy> {
  const database = 'mxohd_bench';
  await raw.query(`DROP DATABASE IF EXISTS ${database}`);
  await raw.query(`CREATE DATABASE ${database}`);
  const ddl = [
    `CREATE TABLE users (userId INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, username VARCHAR(32) NOT NULL UNIQUE, passwordmd5 CHAR(32) NOT NULL,
       publicModulus BINARY(96), privateExponent BINARY(96), timeCreated DATETIME NOT NULL DEFAULT NOW())`,
    `CREATE TABLE worlds (worldId SMALLINT UNSIGNED PRIMARY KEY, name VARCHAR(20) NOT NULL, status TINYINT NOT NULL, type TINYINT NOT NULL, numPlayers SMALLINT UNSIGNED NOT NULL)`,
    `CREATE TABLE characters (charId INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, userId INT UNSIGNED NOT NULL, worldId SMALLINT UNSIGNED NOT NULL,
       status TINYINT NOT NULL DEFAULT 0, is_deleted TINYINT NOT NULL DEFAULT 0, is_online TINYINT NOT NULL DEFAULT 0, handle VARCHAR(32) NOT NULL UNIQUE,
       firstName VARCHAR(32), lastName VARCHAR(32), background VARCHAR(1024), x DOUBLE NOT NULL DEFAULT 0, y DOUBLE NOT NULL DEFAULT 0, z DOUBLE NOT NULL DEFAULT 0,
       rotation INT NOT NULL DEFAULT 0, healthC INT NOT NULL DEFAULT 500, healthM INT NOT NULL DEFAULT 500, innerStrC INT NOT NULL DEFAULT 200,
       innerStrM INT NOT NULL DEFAULT 200, level INT NOT NULL DEFAULT 1, profession INT NOT NULL DEFAULT 0, alignment INT NOT NULL DEFAULT 0,
       pvpflag INT NOT NULL DEFAULT 0, exp BIGINT NOT NULL DEFAULT 0, cash BIGINT NOT NULL DEFAULT 0, district VARCHAR(20) NOT NULL DEFAULT 'slums',
       districtId INT NOT NULL DEFAULT 1, factionId INT NOT NULL DEFAULT 0, crewId INT NOT NULL DEFAULT 0, conquest_points INT NOT NULL DEFAULT 0,
       repMero SMALLINT NOT NULL DEFAULT 0, repMachine SMALLINT NOT NULL DEFAULT 0, repNiobe SMALLINT NOT NULL DEFAULT 0, repEPN SMALLINT NOT NULL DEFAULT 0,
       repCYPH SMALLINT NOT NULL DEFAULT 0, repGM SMALLINT NOT NULL DEFAULT 0, repZion SMALLINT NOT NULL DEFAULT 0, KEY (userId))`,
    `CREATE TABLE rsivalues (charid INT UNSIGNED PRIMARY KEY, sex INT NOT NULL DEFAULT 0, body INT NOT NULL DEFAULT 0, hat INT NOT NULL DEFAULT 0,
       face INT NOT NULL DEFAULT 0, shirt INT NOT NULL DEFAULT 0, coat INT NOT NULL DEFAULT 0, pants INT NOT NULL DEFAULT 0, shoes INT NOT NULL DEFAULT 0,
       gloves INT NOT NULL DEFAULT 0, glasses INT NOT NULL DEFAULT 0, hair INT NOT NULL DEFAULT 0, facialdetail INT NOT NULL DEFAULT 0,
       shirtcolor INT NOT NULL DEFAULT 0, pantscolor INT NOT NULL DEFAULT 0, coatcolor INT NOT NULL DEFAULT 0, shoecolor INT NOT NULL DEFAULT 0,
       glassescolor INT NOT NULL DEFAULT 0, haircolor INT NOT NULL DEFAULT 0, skintone INT NOT NULL DEFAULT 0, tattoo INT NOT NULL DEFAULT 0,
       facialdetailcolor INT NOT NULL DEFAULT 0, leggins INT NOT NULL DEFAULT 0)`,
    `CREATE TABLE inventory (invId INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, charId INT UNSIGNED NOT NULL, goid INT UNSIGNED NOT NULL, slot INT NOT NULL,
       created DATETIME NOT NULL, KEY (charId))`,
    `CREATE TABLE char_abilities (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, char_id INT UNSIGNED NOT NULL, slot INT NOT NULL, ability_id INT UNSIGNED NOT NULL,
       level INT NOT NULL, is_loaded TINYINT NOT NULL, added DATETIME NOT NULL, KEY (char_id))`,
    `CREATE TABLE buddylist (charId INT UNSIGNED NOT NULL, friendId INT UNSIGNED NOT NULL, PRIMARY KEY (charId, friendId), KEY (friendId))`,
  ];
  for (const statement of ddl) await raw.query(`USE ${database}`).then(() => raw.query(statement));
  await raw.execute(`INSERT INTO ${database}.worlds VALUES (1, 'Recursion', 1, 0, 0)`);
  const usernames: string[] = [];
  for (let i = 0; i < players; i++) {
    const username = `hd_${i}`;
    usernames.push(username);
    const md5 = createHash('md5').update(`flow-password-${i}`).digest('hex');
    const [user] = (await raw.execute(
      `INSERT INTO ${database}.users (username, passwordmd5, publicModulus, privateExponent) VALUES (?, ?, ?, ?)`,
      [username, md5, randomBytes(96), randomBytes(96)],
    )) as unknown as [{ insertId: number }];
    const [character] = (await raw.execute(`INSERT INTO ${database}.characters (userId, worldId, handle) VALUES (?, 1, ?)`, [
      user.insertId,
      `Hd${i}`,
    ])) as unknown as [{ insertId: number }];
    const charId = character.insertId;
    await raw.execute(`INSERT INTO ${database}.rsivalues (charid) VALUES (?)`, [charId]);
    for (const w of WORN)
      await raw.execute(`INSERT INTO ${database}.inventory (charId, goid, slot, created) VALUES (?, ?, ?, NOW())`, [
        charId,
        w.goid,
        w.slot,
      ]);
    for (const a of MXO_HD_STARTING_ABILITIES)
      for (const slot of a.slots)
        await raw.execute(
          `INSERT INTO ${database}.char_abilities (char_id, slot, ability_id, level, is_loaded, added) VALUES (?, ?, ?, ?, ?, NOW())`,
          [charId, slot, a.abilityId, a.level, a.loaded ? 1 : 0],
        );
  }
  return { database, usernames };
}

/** mxo-hd's statements for the same flow (its own queries, parameterised), on one database. */
async function mxoHdFlow(
  raw: mysql.Connection,
  hd: MxoHdCopy,
  i: number,
  step: (s: Step, fn: () => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const db = hd.database;
  const q = async (sql: string, params: unknown[]) => (await raw.execute(sql, params as never))[0] as Array<Record<string, unknown>>;
  let charId = 0;
  await step('login + roster', async () => {
    const md5 = createHash('md5').update(`flow-password-${i}`).digest('hex');
    const [user] = await q(
      `SELECT userId, publicModulus, privateExponent, timeCreated FROM ${db}.users WHERE username = ? AND passwordmd5 = ?`,
      [hd.usernames[i], md5],
    );
    const characters = await q(`SELECT handle, charId, status, worldId FROM ${db}.characters WHERE userId = ? AND is_deleted = 0`, [
      user!.userId,
    ]);
    await q(`SELECT name, worldId, status, type, numPlayers FROM ${db}.worlds ORDER BY worldId`, []);
    charId = Number(characters[0]!.charId);
  });
  await step('select', async () => {
    await q(`SELECT firstName, lastName, background, exp, cash, districtId FROM ${db}.characters WHERE charId = ? LIMIT 1`, [charId]);
    await q(`SELECT goid, slot FROM ${db}.inventory WHERE charId = ?`, [charId]);
    await q(`SELECT ability_id, slot, level, is_loaded FROM ${db}.char_abilities WHERE char_id = ? ORDER BY slot`, [charId]);
    await q(`SELECT * FROM ${db}.rsivalues WHERE charid = ?`, [charId]);
  });
  await step('enter world', async () => {
    await q(
      `SELECT handle, x, y, z, rotation, healthC, healthM, innerStrC, innerStrM, level, profession, alignment, pvpflag, firstName, lastName, exp, cash,
              district, districtId, factionId, crewId, repMero, repMachine, repNiobe, repEPN, repCYPH, repGM, repZion FROM ${db}.characters WHERE charId = ?`,
      [charId],
    );
    await q(`SELECT * FROM ${db}.rsivalues WHERE charid = ?`, [charId]);
    await q(`SELECT goid, slot FROM ${db}.inventory WHERE charId = ?`, [charId]);
    await q(`SELECT ability_id, slot, level, is_loaded FROM ${db}.char_abilities WHERE char_id = ? ORDER BY slot`, [charId]);
    await q(
      `SELECT C.handle, C.is_online, B.friendId FROM ${db}.buddylist B LEFT JOIN ${db}.characters C ON B.friendId = C.charId WHERE B.charId = ?`,
      [charId],
    );
    await q(
      `SELECT C.handle, C.charId, C.is_online, B.friendId FROM ${db}.buddylist B LEFT JOIN ${db}.characters C ON B.charId = C.charId WHERE B.friendId = ?`,
      [charId],
    );
    await q(`UPDATE ${db}.characters SET is_online = 1 WHERE charId = ?`, [charId]);
  });
  await step('save', async () => {
    await q(`UPDATE ${db}.characters SET x = ?, y = ?, z = ?, rotation = ?, districtId = ? WHERE handle = ?`, [
      100.5 + i,
      0,
      -3.25,
      i % 256,
      1,
      `Hd${i}`,
    ]);
    await q(`UPDATE ${db}.rsivalues SET sex = ?, body = ?, hat = ?, face = ?, shirt = ?, coat = ?, pants = ?, shoes = ? WHERE charid = ?`, [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      charId,
    ]);
    await q(`UPDATE ${db}.characters SET cash = ? WHERE charId = ? LIMIT 1`, [i * 7, charId]);
    await q(`UPDATE ${db}.characters SET exp = ? WHERE charId = ? LIMIT 1`, [i * 70, charId]);
  });
  await step('logout', () => q(`UPDATE ${db}.characters SET is_online = 0 WHERE charId = ?`, [charId]));
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
