import { inListStatement } from '../../pool/in-list.js';
import type { Row } from '../../pool/pooled-connection.js';
import { groupByKey, type KeyedRead } from '../../routing/point-read-batcher.js';
import { CHARACTER_COLUMNS } from './character-columns.js';

/**
 * Everything a district server needs to enter one character into the world, read in ONE
 * statement per node: on its shard the character row and then a row per owned row (a UNION ALL
 * of flat parts, each a JSON object), and crew and organization in one statement on global.
 * Column names below come from the schema, never from input. Both statements are keyed reads
 * ({@link KeyedRead}): each part filters on `character_id IN (...)` and starts with the character
 * it belongs to, so concurrent loads on a node share one statement.
 */

type Kind = 'num' | 'str' | 'bool' | 'date' | 'json' | 'numOrNull' | 'strOrNull';
type Columns = Array<[column: string, kind: Kind]>;

const STATISTICS: Columns = [
  'total_kills',
  'total_deaths',
  'player_kills',
  'npc_kills',
  'interlock_wins',
  'interlock_losses',
  'missions_completed',
  'missions_failed',
  'story_missions_completed',
  'daily_missions_completed',
  'players_helped',
  'crews_joined',
  'events_participated',
  'money_earned',
  'money_spent',
  'items_traded',
  'districts_visited',
  'hardlines_discovered',
  'secrets_found',
].map((c): [string, Kind] => [c, 'num']);
STATISTICS.push(['abilities_used', 'json']);

const PVP: Columns = [
  ...[
    'total_pvp_encounters',
    'pvp_wins',
    'pvp_losses',
    'pvp_draws',
    'interlock_encounters',
    'interlock_wins',
    'interlock_losses',
    'total_pvp_damage_dealt',
    'total_pvp_damage_received',
    'highest_single_hit',
    'current_win_streak',
    'best_win_streak',
    'current_loss_streak',
    'pvp_rating',
    'season_wins',
    'season_losses',
  ].map((c): [string, Kind] => [c, 'num']),
  ['pvp_rank', 'str'],
];

const ABILITY: Columns = [
  ['ability_id', 'num'],
  ['ability_name', 'strOrNull'],
  ['ability_level', 'num'],
  ['mastery_points', 'num'],
  ['mastery_percentage', 'num'],
  ['times_used', 'num'],
  ['last_used', 'date'],
];
const STANDING: Columns = [
  ['faction', 'str'],
  ['standing_points', 'num'],
  ['reputation_level', 'str'],
  ['last_updated', 'date'],
];
const ITEM: Columns = [
  ['item_id', 'num'],
  ['character_id', 'num'],
  ['template_id', 'num'],
  ['quantity', 'num'],
  ['durability', 'num'],
  ['container_type', 'str'],
  ['slot_position', 'numOrNull'],
  ['acquired_method', 'str'],
  ['is_bound', 'bool'],
  ['purity', 'num'],
  // The client's item id (goid) of the template, as inventory.list returns it.
  ['client_item_id', 'numOrNull'],
];
const EQUIPMENT: Columns = [
  ['slot_name', 'str'],
  ['item_id', 'numOrNull'],
];
const MISSION: Columns = [
  ['mission_id', 'num'],
  ['mission_name', 'str'],
  ['mission_type', 'str'],
  ['mission_status', 'str'],
  ['accepted_date', 'date'],
  ['completed_date', 'date'],
  ['template_objectives', 'json'],
  ['progress', 'json'],
];
const LOADOUT: Columns = [
  ['slot_number', 'num'],
  ['ability_id', 'num'],
  ['is_loaded', 'bool'],
];
const REPUTATION: Columns = [
  ['organization', 'str'],
  ['points', 'num'],
];

/** A mission row of the statement; its objectives come as their own part. */
const MISSION_ROW: Columns = MISSION.filter(([c]) => c !== 'progress');
const OBJECTIVE: Columns = [
  ['objective_index', 'num'],
  ['current_progress', 'num'],
  ['required_progress', 'num'],
  ['is_completed', 'bool'],
];
const RELATIONSHIP: Columns = [
  ['target_character_id', 'num'],
  ['relationship_type', 'str'],
  ['notes', 'strOrNull'],
  ['is_mutual', 'bool'],
];

/** `JSON_OBJECT('col', alias.col, ...)`; `sources` maps a column to another expression. */
function jsonObject(alias: string, columns: Columns, sources: Record<string, string> = {}): string {
  return `JSON_OBJECT(${columns.map(([c]) => `'${c}', ${sources[c] ?? `${alias}.${c}`}`).join(', ')})`;
}

/** The character's own columns (what `toCharacter` maps), typed by the driver as in `get`. */
const CHARACTER_PART = `${CHARACTER_COLUMNS}, deleted_at, cq_points`;
/** After the owner (the first column, character_id), NULL for every other character column. */
const NO_CHARACTER_BUT_OWNER = CHARACTER_PART.split(',')
  .slice(1)
  .map(() => 'NULL')
  .join(', ');

/**
 * One part of the shard statement: a row per owned row, as its owner (the alias's character_id),
 * `part`, a JSON object `j` and the part's order (`k_num`, `k_str`, the ORDER BYs of the single
 * reads it replaces). `from` names the owners' IN-list `{keys}`.
 */
function part(name: string, json: string, from: string, order: { num?: string; str?: string } = {}): string {
  const owner = /(\w+)\.character_id IN \{keys\}/.exec(from)![1]!;
  return `SELECT ${owner}.character_id, ${NO_CHARACTER_BUT_OWNER}, {ord}, '${name}', ${json}, ${order.num ?? 'NULL'}, ${order.str ?? 'NULL'} ${from}`;
}

/** The parts, in the order of the statement (each takes the characters' IN-list once). */
const PARTS: Array<{ name: string; sql: string }> = [
  {
    name: 'statistics',
    sql: part('statistics', jsonObject('s', STATISTICS), 'FROM character_statistics s WHERE s.character_id IN {keys}'),
  },
  { name: 'pvp', sql: part('pvp', jsonObject('p', PVP), 'FROM pvp_statistics p WHERE p.character_id IN {keys}') },
  {
    name: 'abilities',
    sql: part(
      'abilities',
      jsonObject('a', ABILITY, { ability_name: 't.ability_name' }),
      'FROM character_abilities a LEFT JOIN ability_templates t ON t.ability_id = a.ability_id WHERE a.character_id IN {keys}',
      { num: 'a.ability_id' },
    ),
  },
  {
    name: 'standings',
    sql: part('standings', jsonObject('f', STANDING), 'FROM character_faction_standings f WHERE f.character_id IN {keys}', {
      str: 'f.faction',
    }),
  },
  {
    name: 'inventory',
    sql: part(
      'inventory',
      jsonObject('i', ITEM, { client_item_id: 't.client_object_id' }),
      'FROM character_inventory i LEFT JOIN item_templates t ON t.template_id = i.template_id WHERE i.character_id IN {keys}',
      { num: 'i.item_id' },
    ),
  },
  {
    name: 'equipment',
    sql: part('equipment', jsonObject('e', EQUIPMENT), 'FROM character_equipment e WHERE e.character_id IN {keys}', { str: 'e.slot_name' }),
  },
  {
    name: 'missions',
    sql: part(
      'missions',
      jsonObject('m', MISSION_ROW, {
        mission_name: 't.mission_name',
        mission_type: 't.mission_type',
        template_objectives: 't.objectives',
      }),
      `FROM character_missions m JOIN mission_templates t ON t.mission_id = m.mission_id
        WHERE m.character_id IN {keys} AND m.mission_status IN ('accepted', 'in_progress')`,
      { num: 'm.mission_id' },
    ),
  },
  {
    name: 'objectives',
    sql: part(
      'objectives',
      jsonObject('o', [['mission_id', 'num'], ...OBJECTIVE]),
      `FROM mission_objective_progress o JOIN character_missions m ON m.character_id = o.character_id AND m.mission_id = o.mission_id
        WHERE o.character_id IN {keys} AND m.mission_status IN ('accepted', 'in_progress')`,
      { num: 'o.mission_id * 65536 + o.objective_index' },
    ),
  },
  {
    name: 'loadout',
    sql: part('loadout', jsonObject('l', LOADOUT), 'FROM character_ability_slots l WHERE l.character_id IN {keys}', {
      num: 'l.slot_number',
    }),
  },
  {
    name: 'reputations',
    sql: part('reputations', jsonObject('r', REPUTATION), 'FROM character_reputations r WHERE r.character_id IN {keys}', {
      str: 'r.organization',
    }),
  },
  {
    name: 'relationships',
    sql: part('relationships', jsonObject('r', RELATIONSHIP), 'FROM character_relationships r WHERE r.character_id IN {keys}', {
      num: 'r.target_character_id',
    }),
  },
];

/**
 * The shard part in one statement (one snapshot, one round trip): the character row, and a row
 * per owned row. Correlated JSON_ARRAYAGG sub-selects cost MariaDB 10.11 about 5x a point select
 * (1.1-1.3 ms here); flat parts of a UNION ALL cost less. No ORDER BY: sorting the union put it
 * in a temporary table and a filesort, 44 % of the statement's time (700 us against 395 us
 * measured one at a time, 2026-12-07); the rows are grouped by part and each part sorted by its
 * key here instead ({@link byKey}), which the server never guaranteed without the ORDER BY.
 */
function shardSql(keys: string): string {
  return `SELECT ${CHARACTER_PART}, 0 AS ord, NULL AS part, NULL AS j, NULL AS k_num, NULL AS k_str
    FROM characters WHERE character_id IN {keys}
  ${PARTS.map((p, i) => `UNION ALL ${p.sql.replace('{ord}', String(i + 1))}`).join('\n  ')}`.replaceAll('{keys}', keys);
}
const CHARACTER_COLUMN_NAMES = CHARACTER_PART.split(',').map((c) => c.trim());

/**
 * The order of the single reads a part replaces (`ORDER BY k_num, k_str`): by the numeric key,
 * then by the text key as the server's case-insensitive collation compares these (enum-like names).
 */
function byKey(a: Row, b: Row): number {
  const an = a.k_num === null || a.k_num === undefined ? null : Number(a.k_num);
  const bn = b.k_num === null || b.k_num === undefined ? null : Number(b.k_num);
  if (an !== bn) return an === null ? -1 : bn === null ? 1 : an - bn;
  const as = a.k_str === null || a.k_str === undefined ? '' : String(a.k_str).toLowerCase();
  const bs = b.k_str === null || b.k_str === undefined ? '' : String(b.k_str).toLowerCase();
  return as < bs ? -1 : as > bs ? 1 : 0;
}

function globalSql(keys: string): string {
  return `SELECT d.character_id,
    cm.crew_id, cr.crew_name, cr.captain_id, cr.member_count AS crew_member_count, cm.position AS crew_position,
    om.organization_id, o.organization_name, o.faction AS organization_faction, o.leader_id, om.rank_name, om.rank_level, om.permissions
  FROM character_directory d
  LEFT JOIN crew_members cm ON cm.character_id = d.character_id
  LEFT JOIN crews cr ON cr.crew_id = cm.crew_id
  LEFT JOIN organization_members om ON om.character_id = d.character_id
  LEFT JOIN organizations o ON o.organization_id = om.organization_id
 WHERE d.character_id IN ${keys}`;
}

/** The statement and parameters for these characters (exported for bench/explain-enter-world.ts). */
export const loadShardStatement = inListStatement(shardSql, PARTS.length + 1);
/** The statement and parameters for these characters (exported for bench/explain-enter-world.ts). */
export const loadGlobalStatement = inListStatement(globalSql, 1);

export type LoadedRow = Record<string, unknown>;

/** What the shard statement gives for one character: its row and its owned rows by part, parsed. */
export interface LoadShardPart {
  character: Row;
  parts: Record<string, LoadedRow | LoadedRow[] | null>;
}

/** The shard statement, keyed by character: absent for a character whose row is not on this shard. */
export const LOAD_SHARD: KeyedRead<LoadShardPart> = {
  operation: 'character_load',
  async readMany(conn, keys) {
    const { sql, params } = loadShardStatement(keys);
    const rows = await conn.rows<Row & { part: string | null; j: unknown }>(sql, params);
    const found = new Map<number, LoadShardPart>();
    for (const [owner, own] of groupByKey(rows, (r) => Number(r.character_id))) {
      const loaded = loadOf(own);
      if (loaded) found.set(owner, loaded);
    }
    return found;
  },
};

/** One character's rows of the shard statement, parsed; undefined without its character row (not this shard's). */
function loadOf(rows: Array<Row & { part: string | null; j: unknown }>): LoadShardPart | undefined {
  let first: Row | undefined;
  const owned = new Map<string, Row[]>(PARTS.map((p) => [p.name, []]));
  for (const row of rows) {
    if (row.part === null) first = row;
    else owned.get(row.part)!.push(row);
  }
  if (!first) return undefined;
  const byPart = new Map<string, LoadedRow[]>();
  for (const [name, list] of owned)
    byPart.set(
      name,
      (list.length > 1 ? list.sort(byKey) : list).map((r) => parseJson(r.j) as LoadedRow),
    );
  const many = (name: string, columns: Columns) => byPart.get(name)!.map((v) => convert(v, columns));
  const one = (name: string, columns: Columns) => {
    const [value] = byPart.get(name)!;
    return value ? convert(value, columns) : null;
  };
  const objectives = byPart.get('objectives')!;
  const character: Row = {};
  for (const column of CHARACTER_COLUMN_NAMES) character[column] = first[column];
  const parts = {
    statistics: one('statistics', STATISTICS),
    pvp: one('pvp', PVP),
    abilities: many('abilities', ABILITY),
    standings: many('standings', STANDING),
    inventory: many('inventory', ITEM),
    equipment: many('equipment', EQUIPMENT),
    missions: many('missions', MISSION_ROW).map((m) => ({
      ...m,
      progress: objectives.filter((o) => Number(o.mission_id) === m.missionId).map((o) => convert(o, OBJECTIVE)),
    })),
    relationships: many('relationships', RELATIONSHIP),
    loadout: many('loadout', LOADOUT),
    reputations: many('reputations', REPUTATION),
    cq: { cqPoints: Number(first.cq_points ?? 0) },
  };
  return { character, parts };
}

/** The global statement, keyed by character: its crew and organization membership row. */
export const LOAD_MEMBERSHIPS: KeyedRead<Row> = {
  operation: 'character_load_memberships',
  async readMany(conn, keys) {
    const { sql, params } = loadGlobalStatement(keys);
    const rows = await conn.rows(sql, params);
    return new Map(rows.map((row) => [Number(row.character_id), row]));
  },
};

function parseJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/** JSON values to their JS types; keys to camelCase. Dates in JSON are UTC text (session time zone +00:00). */
function convert(source: LoadedRow, columns: Columns): LoadedRow {
  const out: LoadedRow = {};
  for (const [column, kind] of columns) {
    const v = source[column];
    const key = camel(column);
    out[key] =
      kind === 'num'
        ? Number(v ?? 0)
        : kind === 'numOrNull'
          ? v === null || v === undefined
            ? null
            : Number(v)
          : kind === 'bool'
            ? Boolean(v)
            : kind === 'date'
              ? v === null || v === undefined
                ? null
                : new Date(`${String(v).replace(' ', 'T')}Z`)
              : kind === 'json'
                ? parseJson(v)
                : kind === 'strOrNull'
                  ? ((v as string | null) ?? null)
                  : String(v);
  }
  return out;
}

const camelCase = new Map<string, string>();

/** `snake_case` to `camelCase`, computed once per column name. */
function camel(column: string): string {
  let key = camelCase.get(column);
  if (key === undefined) camelCase.set(column, (key = column.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase())));
  return key;
}
