/**
 * The migrated schema against the seed and against the fixes docs/design.md lists, on real MariaDB
 * servers (a throwaway sandbox: one global primary, one shard primary).
 */
import type { ConnectionOptions } from 'mysql2';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateNode } from '../src/migrate/index.js';
import { MOVING_TABLES } from '../src/schema/character-rows.js';
import { TABLES, tablesOn } from '../src/schema/table-registry.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { loadSeedSchema, SEED_TABLE_TIER } from './support/seed-schema.js';

function nodeOf(url: string): { connection: ConnectionOptions; database: string; label: string } {
  const u = new URL(url);
  return {
    connection: {
      host: u.hostname,
      port: Number(u.port),
      user: decodeURIComponent(u.username),
      password: u.password ? decodeURIComponent(u.password) : undefined,
    },
    database: u.pathname.replace(/^\//, ''),
    label: `${u.hostname}:${u.port}`,
  };
}

let sb: Sandbox;
let g: mysql.Connection; // global primary, migrated global + reference
let s: mysql.Connection; // shard alpha primary, migrated reference + shard
let globalDb: string;
let shardDb: string;

async function rows<T = Record<string, unknown>>(conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<T[]> {
  const [r] = await conn.query(sql, params);
  return r as T[];
}

/** table -> column -> information_schema.COLUMNS row of a database. */
async function columnsOf(conn: mysql.Connection, db: string) {
  const list = await rows<{ TABLE_NAME: string; COLUMN_NAME: string; COLUMN_TYPE: string; IS_NULLABLE: string; EXTRA: string }>(
    conn,
    `SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.EXTRA
       FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
      WHERE c.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE'`,
    [db],
  );
  const map = new Map<string, Map<string, (typeof list)[number]>>();
  for (const r of list) {
    if (!map.has(r.TABLE_NAME)) map.set(r.TABLE_NAME, new Map());
    map.get(r.TABLE_NAME)!.set(r.COLUMN_NAME, r);
  }
  return map;
}

/** Foreign keys of a database: "table.column -> referenced_table.referenced_column". */
async function foreignKeys(conn: mysql.Connection, db: string) {
  return rows<{ TABLE_NAME: string; COLUMN_NAME: string; REFERENCED_TABLE_NAME: string; REFERENCED_COLUMN_NAME: string }>(
    conn,
    `SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL`,
    [db],
  );
}

async function deleteRule(conn: mysql.Connection, db: string, table: string, referenced: string): Promise<string[]> {
  const r = await rows<{ DELETE_RULE: string }>(
    conn,
    `SELECT DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME = ?`,
    [db, table, referenced],
  );
  return r.map((x) => x.DELETE_RULE);
}

let nextCharacterId = 1000;
async function insertCharacter(
  fields: { name?: string; lastLoginDaysAgo?: number | null; online?: boolean; money?: number; districtId?: number } = {},
): Promise<number> {
  const id = nextCharacterId++;
  await s.query(
    `INSERT INTO characters (character_id, account_id, character_name, archetype, gender, appearance_data,
                             last_login, is_online, money, district_id)
     VALUES (?, 1, ?, 'hacker', 'female', '{}',
             IF(? IS NULL, NULL, NOW() - INTERVAL ? DAY), ?, ?, ?)`,
    [
      id,
      fields.name ?? `char_${id}`,
      fields.lastLoginDaysAgo ?? null,
      fields.lastLoginDaysAgo ?? 0,
      fields.online ?? false,
      fields.money ?? 0,
      fields.districtId ?? 1,
    ],
  );
  return id;
}

beforeAll(async () => {
  sb = await startSandbox({ shards: 1, replicasPerShard: 0 });
  const gn = nodeOf(sb.config.global.primary);
  const sn = nodeOf(sb.config.shards[0]!.primary);
  globalDb = gn.database;
  shardDb = sn.database;
  await migrateNode({
    connection: gn.connection,
    database: gn.database,
    tiers: ['global', 'reference'],
    label: `global primary ${gn.label}`,
  });
  await migrateNode({
    connection: sn.connection,
    database: sn.database,
    tiers: ['reference', 'shard'],
    label: `shard alpha primary ${sn.label}`,
  });
  g = await mysql.createConnection({ ...gn.connection, database: gn.database });
  s = await mysql.createConnection({ ...sn.connection, database: sn.database });
  // Reference rows the shard tests need (the library copies these from global in real use).
  for (const conn of [g, s]) {
    await conn.query(
      `INSERT INTO districts (district_id, district_name, district_type, min_x, max_x, min_y, max_y, min_z, max_z)
       VALUES (1, 'Richland', 'downtown', 0, 1, 0, 1, 0, 1), (2, 'Westview', 'slums', 0, 1, 0, 1, 0, 1)`,
    );
    await conn.query(`INSERT INTO item_templates (template_id, item_name, item_type) VALUES (1, 'Agent Sunglasses', 'clothing')`);
  }
});

afterAll(async () => {
  await g?.end();
  await s?.end();
  await sb?.stop();
});

describe('seed tables and columns', () => {
  it('every seed table and column exists in the tier docs/design.md assigns, and nowhere else', async () => {
    const seed = loadSeedSchema();
    expect(seed.tables.size).toBe(38);
    expect(Object.keys(SEED_TABLE_TIER).sort()).toEqual([...seed.tables.keys()].sort());
    const onGlobal = await columnsOf(g, globalDb);
    const onShard = await columnsOf(s, shardDb);
    const missing: string[] = [];
    const misplaced: string[] = [];
    for (const [table, columns] of seed.tables) {
      const tier = SEED_TABLE_TIER[table]!;
      const where: Array<[string, Map<string, Map<string, unknown>>]> = [];
      if (tier === 'global' || tier === 'reference') where.push(['global', onGlobal]);
      if (tier === 'shard' || tier === 'reference') where.push(['shard', onShard]);
      // server_economy: cluster roll-up on global, and each shard's own figures on the shard.
      if (table === 'server_economy') where.push(['shard', onShard]);
      for (const [node, cols] of where) {
        const actual = cols.get(table);
        if (!actual) {
          missing.push(`${node}: table ${table}`);
          continue;
        }
        for (const c of columns) if (!actual.has(c)) missing.push(`${node}: ${table}.${c}`);
      }
      const nodes = where.map(([n]) => n);
      if (!nodes.includes('global') && onGlobal.has(table)) misplaced.push(`global has ${table}`);
      if (!nodes.includes('shard') && onShard.has(table)) misplaced.push(`shard has ${table}`);
    }
    expect(missing).toEqual([]);
    expect(misplaced).toEqual([]);
  });

  it('column types match the seed, except the documented deviations', async () => {
    const seed = loadSeedSchema();
    const onGlobal = await columnsOf(g, globalDb);
    const onShard = await columnsOf(s, shardDb);
    const norm = (t: string) => t.replace(/^(tinyint|smallint|int|bigint)\(\d+\)/, '$1');
    const enumValues = (t: string) => [...t.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!);
    const expected = (seedType: string): string => {
      const t = seedType.toUpperCase();
      if (t === 'BOOLEAN') return 'tinyint';
      if (t === 'JSON') return 'longtext'; // MariaDB's JSON is LONGTEXT + json_valid CHECK
      if (t.startsWith('ENUM'))
        return `enum(${enumValues(seedType)
          .map((v) => `'${v}'`)
          .join(',')})`;
      return seedType.toLowerCase().replace(/\s+/g, '');
    };
    // Deviations docs/design.md lists (each commented in the SQL).
    const deviations: Record<string, (actual: string, seedType: string) => boolean> = {
      'system_logs.created_at': (a) => a === 'datetime',
      'player_action_logs.action_timestamp': (a) => a === 'datetime',
      'chat_logs.message_timestamp': (a) => a === 'datetime',
      // The client's ability ids have the high bit set (shard 081).
      'character_abilities.ability_id': (a) => a === 'int unsigned',
      // Positions keep the client's doubles (shard 100).
      ...Object.fromEntries(
        ['characters', 'archived_characters', 'hardlines'].flatMap((table) =>
          ['x', 'y', 'z'].map((axis) => [`${table}.position_${axis}`, (a: string) => a === 'double']),
        ),
      ),
      // Wrapped legacy hashes and sealed TOTP secrets are longer (global 094).
      'accounts.password_hash': (a) => a === 'varchar(255)',
      'account_security.two_factor_secret': (a) => a === 'varchar(128)',
      'transaction_history.transaction_type': (a, seedType) =>
        a.startsWith('enum(') && enumValues(seedType).every((v) => enumValues(a).includes(v)) && enumValues(a).includes('repair_cost'),
    };
    const wrong: string[] = [];
    for (const [table, types] of seed.columnTypes) {
      const cols = SEED_TABLE_TIER[table] === 'global' ? onGlobal.get(table) : onShard.get(table);
      for (const [column, seedType] of types) {
        const actual = norm(cols!.get(column)!.COLUMN_TYPE);
        const allowed = deviations[`${table}.${column}`];
        // An ENUM may gain values (adding is allowed; dropping or renaming a seed value is not).
        const widenedEnum =
          seedType.toUpperCase().startsWith('ENUM') &&
          actual.startsWith('enum(') &&
          enumValues(seedType).every((v) => enumValues(actual).includes(v));
        const ok = allowed ? allowed(actual, seedType) : actual === expected(seedType) || widenedEnum;
        if (!ok) wrong.push(`${table}.${column}: seed ${seedType}, migrated ${actual}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has the new tables: directory, sequences, 2PC decisions, archives, per-shard economy', async () => {
    const tablesOf = async (conn: mysql.Connection, db: string) =>
      (await rows<{ TABLE_NAME: string }>(conn, `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`, [db])).map(
        (r) => r.TABLE_NAME,
      );
    const globalTables = await tablesOf(g, globalDb);
    const shardTables = await tablesOf(s, shardDb);
    expect(globalTables).toEqual(expect.arrayContaining(['character_directory', 'id_sequences', 'twopc_decisions', 'schema_migrations']));
    expect(shardTables).toEqual(
      expect.arrayContaining([
        'twopc_decisions',
        'schema_migrations',
        'server_economy',
        'archived_characters',
        'archived_system_logs',
        'archived_player_action_logs',
        'archived_chat_logs',
      ]),
    );
    expect(shardTables).not.toContain('character_directory');
    for (const [conn, db] of [
      [g, globalDb],
      [s, shardDb],
    ] as const) {
      const [schema] = await rows<{ DEFAULT_CHARACTER_SET_NAME: string }>(
        conn,
        'SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [db],
      );
      expect(schema!.DEFAULT_CHARACTER_SET_NAME).toBe('utf8mb4');
    }
    const seqs = await rows<{ sequence_name: string; next_value: number }>(
      g,
      'SELECT sequence_name, next_value FROM id_sequences ORDER BY 1',
    );
    // Every cluster-wide sequence starts at 1 (item and trade ids, and whatever later migrations add).
    expect(seqs.map((r) => [r.sequence_name, Number(r.next_value)])).toEqual(
      expect.arrayContaining([
        ['item_id', 1],
        ['trade_id', 1],
      ]),
    );
    expect(seqs.every((r) => Number(r.next_value) === 1)).toBe(true);
  });

  it('ids that cross shards are not AUTO_INCREMENT on the shard', async () => {
    const cols = await columnsOf(s, shardDb);
    expect(cols.get('characters')!.get('character_id')!.EXTRA).not.toMatch(/auto_increment/i);
    expect(cols.get('character_inventory')!.get('item_id')!.EXTRA).not.toMatch(/auto_increment/i);
    expect(cols.get('trade_sessions')!.get('trade_id')!.EXTRA).not.toMatch(/auto_increment/i);
    expect(cols.get('trade_sessions')!.has('idempotency_key')).toBe(true);
    expect(cols.get('trade_sessions')!.has('xa_gtrid')).toBe(true);
    const gcols = await columnsOf(g, globalDb);
    expect(gcols.get('character_directory')!.get('character_id')!.EXTRA).toMatch(/auto_increment/i);
  });

  it('twopc_decisions: one decision per gtrid (the fence)', async () => {
    await s.query(`INSERT INTO twopc_decisions (gtrid, decision, operation) VALUES ('mxo-test-1', 'commit', 'trade')`);
    await expect(s.query(`INSERT INTO twopc_decisions (gtrid, decision) VALUES ('mxo-test-1', 'abort')`)).rejects.toMatchObject({
      code: 'ER_DUP_ENTRY',
    });
  });
});

describe('the table registry (src/schema/table-registry.ts)', () => {
  const primaryKeys = async (conn: mysql.Connection, db: string) => {
    const keys = new Map<string, string[]>();
    for (const r of await rows<{ TABLE_NAME: string; COLUMN_NAME: string }>(
      conn,
      `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      [db],
    ))
      keys.set(r.TABLE_NAME, [...(keys.get(r.TABLE_NAME) ?? []), r.COLUMN_NAME]);
    return keys;
  };

  it('names every table of the migrated schema, and no other, with its primary key', async () => {
    for (const [node, conn, db] of [
      ['global', g, globalDb],
      ['shard', s, shardDb],
    ] as const) {
      const actual = await primaryKeys(conn, db);
      const tables = (
        await rows<{ TABLE_NAME: string }>(
          conn,
          "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
          [db],
        )
      ).map((r) => r.TABLE_NAME);
      expect(tablesOn(node).sort(), node).toEqual(tables.sort());
      const tiers = node === 'global' ? ['global', 'reference', 'node'] : ['shard', 'reference', 'node'];
      for (const entry of TABLES.filter((t) => tiers.includes(t.tier)))
        expect(actual.get(entry.table), `${node} ${entry.table}`).toEqual(entry.key);
    }
  });

  it('owners are folders of the code, and only shard tables move', async () => {
    const { existsSync } = await import('node:fs');
    for (const t of TABLES) {
      expect(existsSync(`src/systems/${t.owner}`) || existsSync(`src/${t.owner}`), `${t.table} owner ${t.owner}`).toBe(true);
      if (t.tier !== 'shard') expect(t.movesWith, t.table).toBe('never');
    }
    expect(new Set(TABLES.map((t) => `${t.tier}:${t.table}`)).size).toBe(TABLES.length);
  });
});

describe('foreign keys', () => {
  it('no table on a shard references a global table, and only moving tables reference characters', async () => {
    const fks = await foreignKeys(s, shardDb);
    const referenced = new Set(fks.map((f) => f.REFERENCED_TABLE_NAME));
    for (const globalTable of ['accounts', 'character_directory', 'crews', 'organizations']) expect(referenced).not.toContain(globalTable);
    const toCharacters = new Set(fks.filter((f) => f.REFERENCED_TABLE_NAME === 'characters').map((f) => f.TABLE_NAME));
    // A table that references characters must move with them (src/schema/character-rows.ts), or a
    // cross-shard move could not delete the character it leaves behind.
    const moving = new Set(MOVING_TABLES.map((m) => m.table));
    for (const table of [
      'character_statistics',
      'character_abilities',
      'character_faction_standings',
      'character_inventory',
      'character_equipment',
      'character_missions',
      'mission_history',
      'pvp_statistics',
      'character_relationships',
    ]) {
      expect(toCharacters, table).toContain(table);
    }
    for (const table of toCharacters) expect(moving, `${table} references characters but does not move with them`).toContain(table);
    const events = [
      'trade_sessions',
      'transaction_history',
      'combat_encounters',
      'interlock_encounters',
      'interlock_rounds',
      'system_logs',
      'player_action_logs',
      'chat_logs',
      'server_metrics',
    ];
    for (const t of events) {
      expect(
        fks.filter((f) => f.TABLE_NAME === t && f.REFERENCED_TABLE_NAME === 'characters'),
        t,
      ).toEqual([]);
    }
    // character_relationships: only its own character, not the target (may be on another shard).
    expect(fks.filter((f) => f.TABLE_NAME === 'character_relationships').map((f) => f.COLUMN_NAME)).toEqual(['character_id']);
  });

  it('shard-local foreign keys keep the seed behaviour', async () => {
    const fks = (await foreignKeys(s, shardDb)).map((f) => `${f.TABLE_NAME}.${f.COLUMN_NAME}->${f.REFERENCED_TABLE_NAME}`);
    expect(fks).toEqual(
      expect.arrayContaining([
        'character_inventory.character_id->characters',
        'character_inventory.template_id->item_templates',
        'item_modifications.item_id->character_inventory',
        'character_equipment.item_id->character_inventory',
        'character_missions.mission_id->mission_templates',
        'mission_objective_progress.character_id->character_missions',
        'mission_history.mission_id->mission_templates',
        'world_objects.district_id->districts',
        'hardlines.district_id->districts',
        'world_events.district_id->districts',
        'vendors.district_id->districts',
        'vendor_inventory.template_id->item_templates',
        'vendor_inventory.vendor_id->vendors',
        'interlock_rounds.interlock_id->interlock_encounters',
        'trade_sessions.district_id->districts',
        'transaction_history.vendor_id->vendors',
        'combat_encounters.district_id->districts',
      ]),
    );
    expect(await deleteRule(s, shardDb, 'character_inventory', 'characters')).toEqual(['CASCADE']);
    expect(await deleteRule(s, shardDb, 'character_equipment', 'character_inventory')).toEqual(['SET NULL']);
    expect(await deleteRule(s, shardDb, 'item_modifications', 'character_inventory')).toEqual(['CASCADE']);
  });

  it('global tables reference the character directory, not characters', async () => {
    const fks = await foreignKeys(g, globalDb);
    expect(fks.filter((f) => f.REFERENCED_TABLE_NAME === 'characters')).toEqual([]);
    const toDirectory = fks
      .filter((f) => f.REFERENCED_TABLE_NAME === 'character_directory')
      .map((f) => `${f.TABLE_NAME}.${f.COLUMN_NAME}`)
      .sort();
    expect(toDirectory).toEqual([
      'buddy_edges.buddy_id', // issue 18 part C: the global buddy index (sql/global/090_buddy_index.sql)
      'buddy_edges.character_id',
      'crew_members.character_id',
      'crews.captain_id',
      'organization_members.character_id',
      'organizations.leader_id',
      'presence_claims.character_id', // issue 18: presence (sql/global/050_presence.sql)
      'presence_handoffs.character_id',
    ]);
    expect(await deleteRule(g, globalDb, 'crews', 'character_directory')).toEqual(['SET NULL']);
    expect(await deleteRule(g, globalDb, 'character_directory', 'accounts')).toEqual(['CASCADE']);
  });

  it('a crew survives deleting its captain (captain_id becomes NULL)', async () => {
    await g.query(`INSERT INTO accounts (account_id, username, password_hash, email) VALUES (1, 'morpheus', 'x', 'm@zion.test')`);
    const [dir] = (await g.query(
      `INSERT INTO character_directory (account_id, character_name, shard_name, district_id) VALUES (1, 'Morpheus', 'alpha', 1)`,
    )) as [mysql.ResultSetHeader, unknown];
    const captain = dir.insertId;
    await g.query(`INSERT INTO crews (crew_id, crew_name, captain_id, base_district_id) VALUES (1, 'Nebuchadnezzar', ?, 1)`, [captain]);
    await g.query(`INSERT INTO crew_members (character_id, crew_id, position) VALUES (?, 1, 'captain')`, [captain]);
    await g.query('DELETE FROM character_directory WHERE character_id = ?', [captain]);
    const crews = await rows<{ crew_name: string; captain_id: number | null }>(
      g,
      'SELECT crew_name, captain_id FROM crews WHERE crew_id = 1',
    );
    expect(crews).toEqual([{ crew_name: 'Nebuchadnezzar', captain_id: null }]);
    expect(await rows(g, 'SELECT * FROM crew_members WHERE crew_id = 1')).toEqual([]);
  });
});

describe('characters', () => {
  it('money exists, defaults to 0 and cannot go negative', async () => {
    const cols = await columnsOf(s, shardDb);
    const money = cols.get('characters')!.get('money')!;
    expect(money.COLUMN_TYPE).toMatch(/^bigint/);
    expect(money.IS_NULLABLE).toBe('NO');
    const id = await insertCharacter();
    expect(await rows(s, 'SELECT money FROM characters WHERE character_id = ?', [id])).toEqual([{ money: 0 }]);
    await expect(insertCharacter({ money: -1 })).rejects.toMatchObject({ errno: 4025 }); // ER_CONSTRAINT_FAILED
    await expect(s.query('UPDATE characters SET money = money - 1 WHERE character_id = ?', [id])).rejects.toMatchObject({ errno: 4025 });
    await s.query('UPDATE characters SET money = money + 500 WHERE character_id = ?', [id]);
    expect(await rows(s, 'SELECT money FROM characters WHERE character_id = ?', [id])).toEqual([{ money: 500 }]);
  });

  it('crew_id and organization_id cannot be set (membership lives in the global tables)', async () => {
    const id = await insertCharacter();
    await expect(s.query('UPDATE characters SET crew_id = 1 WHERE character_id = ?', [id])).rejects.toMatchObject({ errno: 4025 });
    await expect(s.query('UPDATE characters SET organization_id = 1 WHERE character_id = ?', [id])).rejects.toMatchObject({ errno: 4025 });
    expect(await rows(s, 'SELECT crew_id, organization_id FROM characters WHERE character_id = ?', [id])).toEqual([
      { crew_id: null, organization_id: null },
    ]);
  });

  it('relationships may name a character on another shard, but not oneself', async () => {
    const id = await insertCharacter();
    await s.query(
      `INSERT INTO character_relationships (character_id, target_character_id, relationship_type) VALUES (?, 987654, 'friend')`,
      [id],
    );
    await expect(
      s.query(`INSERT INTO character_relationships (character_id, target_character_id, relationship_type) VALUES (?, ?, 'enemy')`, [
        id,
        id,
      ]),
    ).rejects.toMatchObject({ errno: 4025 });
  });

  it('deleting a character keeps its event records and removes what moves with it', async () => {
    const id = await insertCharacter();
    const other = await insertCharacter();
    await s.query(`INSERT INTO character_inventory (item_id, character_id, template_id) VALUES (?, ?, 1)`, [id * 10, id]);
    await s.query(
      `INSERT INTO chat_logs (character_id, channel_type, message_content, target_character_id) VALUES (?, 'say', 'wake up', ?)`,
      [id, other],
    );
    await s.query(`INSERT INTO player_action_logs (character_id, action_type, target_character_id) VALUES (?, 'login', ?)`, [id, other]);
    await s.query(`INSERT INTO system_logs (log_level, log_category, log_message, character_id) VALUES ('INFO', 'test', 'hello', ?)`, [id]);
    await s.query(
      `INSERT INTO transaction_history (from_character_id, to_character_id, transaction_type, money_amount, district_id)
       VALUES (?, ?, 'trade', 10, 1)`,
      [id, other],
    );
    await s.query(`INSERT INTO trade_sessions (trade_id, initiator_id, recipient_id, district_id) VALUES (?, ?, ?, 1)`, [id, id, other]);
    await s.query(
      `INSERT INTO combat_encounters (encounter_type, initiator_id, target_id, target_type, district_id, position_x, position_y, position_z)
       VALUES ('pvp', ?, ?, 'player', 1, 0, 0, 0)`,
      [id, other],
    );

    await s.query('DELETE FROM characters WHERE character_id IN (?, ?)', [id, other]);

    const count = async (sql: string, params: unknown[]) => Number((await rows<{ n: number }>(s, sql, params))[0]!.n);
    expect(await count('SELECT COUNT(*) AS n FROM character_inventory WHERE character_id = ?', [id])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM chat_logs WHERE character_id = ? AND target_character_id = ?', [id, other])).toBe(1);
    expect(
      await count('SELECT COUNT(*) AS n FROM player_action_logs WHERE character_id = ? AND target_character_id = ?', [id, other]),
    ).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM system_logs WHERE character_id = ?', [id])).toBe(1);
    expect(
      await count('SELECT COUNT(*) AS n FROM transaction_history WHERE from_character_id = ? AND to_character_id = ?', [id, other]),
    ).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM trade_sessions WHERE initiator_id = ? AND recipient_id = ?', [id, other])).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM combat_encounters WHERE initiator_id = ?', [id])).toBe(1);
  });

  it("transaction_history accepts 'repair_cost' (and still rejects unknown types)", async () => {
    await s.query(`INSERT INTO transaction_history (from_character_id, transaction_type, money_amount) VALUES (1, 'repair_cost', 25)`);
    await expect(s.query(`INSERT INTO transaction_history (transaction_type) VALUES ('bribe')`)).rejects.toMatchObject({
      code: 'WARN_DATA_TRUNCATED',
    });
  });
});

describe('log tables', () => {
  const logTables = [
    ['system_logs', 'log_id', 'created_at'],
    ['player_action_logs', 'action_id', 'action_timestamp'],
    ['chat_logs', 'message_id', 'message_timestamp'],
  ] as const;

  it('are partitioned by a DATETIME in the primary key, have no foreign keys, and accept rows', async () => {
    const fks = await foreignKeys(s, shardDb);
    for (const [table, idColumn, timeColumn] of logTables) {
      expect(
        fks.filter((f) => f.TABLE_NAME === table),
        table,
      ).toEqual([]);
      const pk = await rows<{ COLUMN_NAME: string }>(
        s,
        `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
        [shardDb, table],
      );
      expect(pk.map((r) => r.COLUMN_NAME)).toEqual([idColumn, timeColumn]);
      const parts = await rows<{
        PARTITION_NAME: string;
        PARTITION_METHOD: string;
        PARTITION_EXPRESSION: string;
        PARTITION_DESCRIPTION: string;
      }>(
        s,
        `SELECT PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION`,
        [shardDb, table],
      );
      expect(parts[0]).toMatchObject({ PARTITION_NAME: 'p_old', PARTITION_METHOD: 'RANGE COLUMNS' });
      expect(parts[0]!.PARTITION_EXPRESSION).toContain(timeColumn);
      const names = parts.map((p) => p.PARTITION_NAME);
      expect(names).toEqual(expect.arrayContaining(['p_2024', 'p_2025', 'p_202601', 'p_202712']));
      expect(names.at(-1)).toBe('p_future');
      expect(parts.at(-1)!.PARTITION_DESCRIPTION).toBe('MAXVALUE');
    }
    await s.query(`INSERT INTO system_logs (log_level, log_category, log_message, log_data, character_id, district_id)
                   VALUES ('WARN', 'combat', 'x', '{"a":1}', 424242, 99)`);
    await s.query(`INSERT INTO player_action_logs (character_id, action_type, district_id) VALUES (424242, 'move', 99)`);
    await s.query(`INSERT INTO chat_logs (character_id, channel_type, message_content, district_id, moderated_by)
                   VALUES (424242, 'broadcast', 'x', 99, 77)`);
    for (const [table] of logTables) {
      const r = await rows<{ n: number }>(s, `SELECT COUNT(*) AS n FROM ${table} WHERE character_id = 424242`);
      expect(Number(r[0]!.n), table).toBe(1);
    }
  });

  it('EnsureLogPartitions rolls monthly partitions forward, idempotently, moving rows out of p_future', async () => {
    const partitionNames = async (table: string) =>
      (
        await rows<{ PARTITION_NAME: string }>(
          s,
          `SELECT PARTITION_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION`,
          [shardDb, table],
        )
      ).map((r) => r.PARTITION_NAME);
    // Far enough ahead to need new partitions whatever today's date (the file has up to 2027-12).
    const [{ diff }] = await rows<{ diff: number }>(s, `SELECT PERIOD_DIFF(202712, DATE_FORMAT(NOW(), '%Y%m')) AS diff`);
    const ahead = Math.max(0, Number(diff)) + 3;
    const [{ ym, day }] = await rows<{ ym: string; day: string }>(
      s,
      `SELECT DATE_FORMAT(NOW() + INTERVAL ? MONTH, '%Y%m') AS ym, DATE_FORMAT(NOW() + INTERVAL ? MONTH, '%Y-%m-15 12:00:00') AS day`,
      [ahead, ahead],
    );
    await s.query(
      `INSERT INTO chat_logs (character_id, channel_type, message_content, message_timestamp) VALUES (5150, 'say', 'future', ?)`,
      [day],
    );
    expect(await rows(s, 'SELECT COUNT(*) AS n FROM chat_logs PARTITION (p_future) WHERE character_id = 5150')).toEqual([{ n: 1 }]);

    await s.query('CALL EnsureLogPartitions(?)', [ahead]);
    const after: Record<string, string[]> = {};
    for (const t of ['system_logs', 'player_action_logs', 'chat_logs']) {
      after[t] = await partitionNames(t);
      expect(after[t], t).toContain(`p_${ym}`);
      expect(after[t]!.at(-2), t).toBe(`p_${ym}`);
      expect(after[t]!.at(-1), t).toBe('p_future');
    }
    expect(await rows(s, `SELECT COUNT(*) AS n FROM chat_logs PARTITION (p_${ym}) WHERE character_id = 5150`)).toEqual([{ n: 1 }]);

    await s.query('CALL EnsureLogPartitions(?)', [ahead]); // idempotent
    await s.query('CALL EnsureLogPartitions(0)'); // nothing to do either
    for (const t of ['system_logs', 'player_action_logs', 'chat_logs']) expect(await partitionNames(t), t).toEqual(after[t]);

    await expect(s.query('CALL EnsureLogPartitions(-1)')).rejects.toMatchObject({ sqlState: '45000' });
  });
});

describe('views and procedures', () => {
  it('has the two shard-local views (working) and no player_summary view anywhere', async () => {
    const views = async (conn: mysql.Connection, db: string) =>
      (
        await rows<{ TABLE_NAME: string }>(conn, 'SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1', [db])
      ).map((r) => r.TABLE_NAME);
    expect(await views(s, shardDb)).toEqual(['character_equipment_summary', 'district_activity']);
    expect(await views(g, globalDb)).toEqual([]);

    const id = await insertCharacter({ online: true, districtId: 2 });
    await s.query(`INSERT INTO character_inventory (item_id, character_id, template_id, durability) VALUES (?, ?, 1, 87.5)`, [id * 10, id]);
    await s.query(`INSERT INTO character_equipment (character_id, slot_name, item_id) VALUES (?, 'clothing_eyes', ?)`, [id, id * 10]);
    const eq = await rows(s, 'SELECT slot_name, item_name, durability FROM character_equipment_summary WHERE character_id = ?', [id]);
    expect(eq).toEqual([{ slot_name: 'clothing_eyes', item_name: 'Agent Sunglasses', durability: 87.5 }]);
    const act = await rows<{ district_id: number; current_players: number }>(s, 'SELECT * FROM district_activity ORDER BY district_id');
    expect(act.map((r) => r.district_id)).toEqual([1, 2]);
    expect(Number(act.find((r) => r.district_id === 2)!.current_players)).toBeGreaterThanOrEqual(1);
  });

  it('has the seed procedures plus EnsureLogPartitions', async () => {
    const seed = loadSeedSchema();
    const procs = (
      await rows<{ ROUTINE_NAME: string }>(
        s,
        `SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'PROCEDURE'`,
        [shardDb],
      )
    ).map((r) => r.ROUTINE_NAME);
    expect(procs.sort()).toEqual([...seed.procedures, 'EnsureLogPartitions'].sort());
  });

  it('CleanupInactiveCharacters archives stale characters (a name can be archived twice) and keeps recent ones', async () => {
    const stale = await insertCharacter({ name: 'Ghost', lastLoginDaysAgo: 45, money: 7 });
    const recent = await insertCharacter({ lastLoginDaysAgo: 2 });
    const staleButOnline = await insertCharacter({ lastLoginDaysAgo: 45, online: true });
    await s.query(`INSERT INTO character_inventory (item_id, character_id, template_id) VALUES (?, ?, 1)`, [stale * 10, stale]);
    await s.query('CALL CleanupInactiveCharacters(30)');
    const stale2 = await insertCharacter({ name: 'Ghost', lastLoginDaysAgo: 60 });
    await s.query('CALL CleanupInactiveCharacters(30)');

    const archived = await rows<{ character_id: number; character_name: string; money: number }>(
      s,
      `SELECT character_id, character_name, money FROM archived_characters WHERE character_name = 'Ghost' ORDER BY character_id`,
    );
    expect(archived).toEqual([
      { character_id: stale, character_name: 'Ghost', money: 7 },
      { character_id: stale2, character_name: 'Ghost', money: 0 },
    ]);
    const left = (
      await rows<{ character_id: number }>(s, 'SELECT character_id FROM characters WHERE character_id IN (?, ?, ?, ?)', [
        stale,
        recent,
        staleButOnline,
        stale2,
      ])
    ).map((r) => r.character_id);
    expect(left.sort()).toEqual([recent, staleButOnline].sort());
    expect(await rows(s, 'SELECT * FROM character_inventory WHERE character_id = ?', [stale])).toEqual([]);
    // The archive's invisible bookkeeping columns are there but stay out of SELECT *.
    const [one] = await rows<Record<string, unknown>>(s, 'SELECT * FROM archived_characters LIMIT 1');
    expect(Object.keys(one!)).not.toContain('archive_id');
    const [withHidden] = await rows<{ archive_id: number; archived_at: Date }>(
      s,
      'SELECT archive_id, archived_at FROM archived_characters LIMIT 1',
    );
    expect(withHidden!.archive_id).toBeGreaterThan(0);
  });

  it('RotateLogTables moves log rows older than 90 days into the archives', async () => {
    await s.query(`INSERT INTO system_logs (log_level, log_category, log_message, character_id, created_at)
                   VALUES ('INFO', 'rotate', 'old', 6060, NOW() - INTERVAL 100 DAY), ('INFO', 'rotate', 'new', 6060, NOW())`);
    await s.query(`INSERT INTO player_action_logs (character_id, action_type, action_timestamp)
                   VALUES (6060, 'old', NOW() - INTERVAL 100 DAY), (6060, 'new', NOW())`);
    await s.query(`INSERT INTO chat_logs (character_id, channel_type, message_content, message_timestamp)
                   VALUES (6060, 'say', 'old', NOW() - INTERVAL 100 DAY), (6060, 'say', 'new', NOW())`);
    await s.query('CALL RotateLogTables()');
    const q = async (sql: string) => (await rows<{ v: string }>(s, sql)).map((r) => r.v);
    expect(await q(`SELECT log_message AS v FROM system_logs WHERE character_id = 6060`)).toEqual(['new']);
    expect(await q(`SELECT log_message AS v FROM archived_system_logs WHERE character_id = 6060`)).toEqual(['old']);
    expect(await q(`SELECT action_type AS v FROM player_action_logs WHERE character_id = 6060`)).toEqual(['new']);
    expect(await q(`SELECT action_type AS v FROM archived_player_action_logs WHERE character_id = 6060`)).toEqual(['old']);
    expect(await q(`SELECT message_content AS v FROM chat_logs WHERE character_id = 6060`)).toEqual(['new']);
    expect(await q(`SELECT message_content AS v FROM archived_chat_logs WHERE character_id = 6060`)).toEqual(['old']);
  });

  it("UpdateEconomyMetrics writes this shard's figures (money, created, destroyed incl. repair_cost)", async () => {
    await insertCharacter({ money: 1000 });
    await insertCharacter({ money: 234, online: true });
    await s.query(
      `INSERT INTO transaction_history (to_character_id, transaction_type, money_amount) VALUES (1, 'quest_reward', 40), (1, 'admin_grant', 2)`,
    );
    await s.query(
      `INSERT INTO transaction_history (from_character_id, transaction_type, money_amount) VALUES (1, 'repair_cost', 9), (1, 'vendor_purchase', 100)`,
    );
    await s.query(`INSERT INTO transaction_history (from_character_id, transaction_type, money_amount, transaction_date)
                   VALUES (1, 'repair_cost', 5000, NOW() - INTERVAL 2 DAY)`);
    await s.query('CALL UpdateEconomyMetrics()');
    await s.query('CALL UpdateEconomyMetrics()'); // upsert: a second run updates the same row

    const [want] = await rows<{ total: string; created: string; destroyed: string }>(
      s,
      `SELECT (SELECT SUM(money) FROM characters) AS total,
              (SELECT COALESCE(SUM(money_amount), 0) FROM transaction_history
                WHERE transaction_type IN ('quest_reward', 'vendor_sale', 'admin_grant') AND DATE(transaction_date) = CURDATE()) AS created,
              (SELECT COALESCE(SUM(money_amount), 0) FROM transaction_history
                WHERE transaction_type IN ('vendor_purchase', 'repair_cost') AND DATE(transaction_date) = CURDATE()) AS destroyed`,
    );
    const got = await rows<{ total_money_in_circulation: number; money_created_today: number; money_destroyed_today: number }>(
      s,
      'SELECT total_money_in_circulation, money_created_today, money_destroyed_today FROM server_economy WHERE tracking_date = CURDATE()',
    );
    expect(got).toHaveLength(1);
    expect(Number(got[0]!.total_money_in_circulation)).toBe(Number(want!.total));
    expect(Number(got[0]!.total_money_in_circulation)).toBeGreaterThanOrEqual(1234);
    expect(Number(got[0]!.money_created_today)).toBe(Number(want!.created));
    expect(Number(got[0]!.money_created_today)).toBeGreaterThanOrEqual(42);
    expect(Number(got[0]!.money_destroyed_today)).toBe(Number(want!.destroyed));
    expect(Number(got[0]!.money_destroyed_today)).toBeGreaterThanOrEqual(109);
    expect(Number(got[0]!.money_destroyed_today)).toBeLessThan(5000);
  });
});
