import type { PooledConnection, Row } from '../pool/pooled-connection.js';

/**
 * Everything a district server needs to enter one character into the world, read in ONE
 * statement per node: the character row with its owned rows aggregated as JSON sub-selects on
 * its shard, and crew and organization in one statement on global. Column names below come from
 * the schema, never from input.
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

const SHARD_SQL = `SELECT c.*,
  (SELECT ${jsonObject('s', STATISTICS)} FROM character_statistics s WHERE s.character_id = c.character_id) AS j_statistics,
  (SELECT ${jsonObject('p', PVP)} FROM pvp_statistics p WHERE p.character_id = c.character_id) AS j_pvp,
  (SELECT JSON_ARRAYAGG(${jsonObject('a', ABILITY, { ability_name: 't.ability_name' })} ORDER BY a.ability_id)
     FROM character_abilities a LEFT JOIN ability_templates t ON t.ability_id = a.ability_id
    WHERE a.character_id = c.character_id) AS j_abilities,
  (SELECT JSON_ARRAYAGG(${jsonObject('f', STANDING)}) FROM character_faction_standings f WHERE f.character_id = c.character_id) AS j_standings,
  (SELECT JSON_ARRAYAGG(${jsonObject('i', ITEM)} ORDER BY i.item_id) FROM character_inventory i WHERE i.character_id = c.character_id) AS j_inventory,
  (SELECT JSON_ARRAYAGG(${jsonObject('e', EQUIPMENT)} ORDER BY e.slot_name) FROM character_equipment e WHERE e.character_id = c.character_id) AS j_equipment,
  (SELECT JSON_ARRAYAGG(${jsonObject('m', MISSION, {
    mission_name: 't.mission_name',
    mission_type: 't.mission_type',
    template_objectives: 't.objectives',
    progress: `(SELECT JSON_ARRAYAGG(${jsonObject('o', OBJECTIVE)} ORDER BY o.objective_index) FROM mission_objective_progress o
                 WHERE o.character_id = m.character_id AND o.mission_id = m.mission_id)`,
  })} ORDER BY m.mission_id)
     FROM character_missions m JOIN mission_templates t ON t.mission_id = m.mission_id
    WHERE m.character_id = c.character_id AND m.mission_status IN ('accepted', 'in_progress')) AS j_missions,
  (SELECT JSON_ARRAYAGG(${jsonObject('r', RELATIONSHIP)} ORDER BY r.target_character_id)
     FROM character_relationships r WHERE r.character_id = c.character_id) AS j_relationships
FROM characters c WHERE c.character_id = ?`;

const GLOBAL_SQL = `SELECT d.character_id,
    cm.crew_id, cr.crew_name, cr.captain_id, cr.member_count AS crew_member_count, cm.position AS crew_position,
    om.organization_id, o.organization_name, o.faction AS organization_faction, o.leader_id, om.rank_name, om.rank_level, om.permissions
  FROM character_directory d
  LEFT JOIN crew_members cm ON cm.character_id = d.character_id
  LEFT JOIN crews cr ON cr.crew_id = cm.crew_id
  LEFT JOIN organization_members om ON om.character_id = d.character_id
  LEFT JOIN organizations o ON o.organization_id = om.organization_id
 WHERE d.character_id = ?`;

export type LoadedRow = Record<string, unknown>;

/** The shard part: the character row plus its JSON aggregates, parsed; undefined when absent. */
export async function readCharacterLoad(
  conn: PooledConnection,
  characterId: number,
): Promise<{ character: Row; parts: Record<string, LoadedRow | LoadedRow[] | null> } | undefined> {
  const [row] = await conn.rows(SHARD_SQL, [characterId]);
  if (!row) return undefined;
  const take = (key: string, columns: Columns, many: boolean) => {
    const raw = row[key];
    delete row[key];
    const value = parseJson(raw);
    if (value === null) return many ? [] : null;
    return many ? (value as LoadedRow[]).map((v) => convert(v, columns)) : convert(value as LoadedRow, columns);
  };
  const parts = {
    statistics: take('j_statistics', STATISTICS, false),
    pvp: take('j_pvp', PVP, false),
    abilities: take('j_abilities', ABILITY, true),
    standings: take('j_standings', STANDING, true),
    inventory: take('j_inventory', ITEM, true),
    equipment: take('j_equipment', EQUIPMENT, true),
    missions: (take('j_missions', MISSION, true) as LoadedRow[]).map((m) => ({
      ...m,
      progress: ((m.progress as LoadedRow[] | null) ?? []).map((o) => convert(o, OBJECTIVE)),
    })),
    relationships: take('j_relationships', RELATIONSHIP, true),
  };
  return { character: row, parts };
}

/** The global part: crew and organization membership (null when none). */
export async function readMembershipLoad(conn: PooledConnection, characterId: number): Promise<Row | undefined> {
  const [row] = await conn.rows(GLOBAL_SQL, [characterId]);
  return row;
}

function parseJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/** JSON values to their JS types; keys to camelCase. Dates in JSON are UTC text (session time zone +00:00). */
function convert(source: LoadedRow, columns: Columns): LoadedRow {
  const out: LoadedRow = {};
  for (const [column, kind] of columns) {
    const v = source[column];
    const key = column.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
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
