import { inListStatement } from '../../pool/in-list.js';
import type { PooledConnection, Row } from '../../pool/pooled-connection.js';
import { groupByKey, type KeyedRead } from '../../routing/point-read-batcher.js';
import { pickAppearance, type Appearance } from '../shared/character-identity.js';
import { crewPartsOfMembers, crewViewOf, parseJson, type CrewView } from '../shared/crew-view.js';
import type { LoadoutSlot } from '../shared/ability-loadout.js';
import { REPUTATION_ORGANIZATIONS, type Reputations } from '../shared/reputations.js';

/**
 * What the spawn packets carry (contract part four), read in one statement on the character's
 * shard and one on global, the two at once. The shard statement is a UNION ALL of flat parts
 * like characters.load (src/systems/characters/character-load.ts): the character row first, then
 * a JSON row per item, ability, loadout slot, reputation and known hardline. The global one: the
 * account's admin level and the organization, then the crew with its members, then the buddies.
 *
 * Both are keyed reads ({@link KeyedRead}): every part filters on `character_id IN (...)` and
 * starts with the character it belongs to, so concurrent spawns on a node share one statement
 * (a login burst; see src/routing/point-read-batcher.ts).
 */

/** An item as the client's inventory packet carries it (slot, goid, count, purity), with our ids. */
export interface SpawnItem {
  itemId: number;
  /** The client inventory slot (backpack 0x00-0x60, worn 0x61-0x68); null for bank or temp items. */
  slot: number | null;
  /** The client's item id (goid); null when the template has none. */
  clientItemId: number | null;
  templateId: number;
  count: number;
  purity: number;
  containerType: string;
}

/** The organization (faction) a character belongs to: by membership, or through its crew. */
export interface SpawnOrganization {
  organizationId: number;
  name: string;
  faction: string;
  /** The master (leader). */
  masterId: number | null;
  /** The treasury. */
  money: number;
}

/** Everything `characters.spawn` returns. */
export interface CharacterSpawn {
  characterId: number;
  accountId: number;
  /** The handle. */
  name: string;
  firstName: string | null;
  lastName: string | null;
  background: string | null;
  worldId: number | null;
  districtId: number;
  /** As the server last saved it (DOUBLE columns: the doubles sent come back exactly). */
  position: { x: number; y: number; z: number };
  /** As the server last saved it (a yaw byte or radians: whatever was sent). */
  yaw: number;
  health: number;
  maxHealth: number;
  innerStrength: number;
  maxInnerStrength: number;
  level: number;
  experience: number;
  money: number;
  profession: number;
  /** The seed's characters.faction: zion, machine, merovingian or neutral. */
  faction: string;
  /** The client's alignment code (0 none, 1 Zion, 2 Machines, 3 Merovingian). */
  alignment: number;
  pvpFlag: boolean;
  /** The account's admin level (0 player, >= 1 moderator/GM). */
  adminLevel: number;
  appearance: Appearance;
  inventory: SpawnItem[];
  loadout: LoadoutSlot[];
  abilities: Array<{ abilityId: number; level: number }>;
  /** The seven reputations and CQ points. */
  reputations: Reputations;
  knownHardlines: Array<{ districtId: number; hardlineNumber: number }>;
  crew: CrewView | null;
  organization: SpawnOrganization | null;
  /** Whom the character lists, with online status (live presence claims). */
  buddies: Array<{ characterId: number; name: string; online: boolean }>;
  /** Where the character's rows live. */
  shard: string;
}

const CHARACTER = `character_id, account_id, character_name, first_name, last_name, background, world_id, district_id,
  position_x, position_y, position_z, yaw, health, max_health, inner_strength, max_inner_strength, level, experience, money,
  profession, faction, alignment, pvp_flag, appearance_data, gender, cq_points, deleted_at`;
/** After the owner (the first column, character_id), NULL for every other character column. */
const NONE_BUT_OWNER = CHARACTER.split(',')
  .slice(1)
  .map(() => 'NULL')
  .join(', ');

/** Each part: its name, JSON object, FROM (ending before the owner's IN-list), owner column, order key. */
const PARTS: Array<[name: string, json: string, from: string, owner: string, order: string]> = [
  [
    'inventory',
    `JSON_OBJECT('item_id', i.item_id, 'slot', i.slot_position, 'client_item_id', t.client_object_id, 'template_id', i.template_id,
      'count', i.quantity, 'purity', i.purity, 'container_type', i.container_type)`,
    'FROM character_inventory i LEFT JOIN item_templates t ON t.template_id = i.template_id WHERE',
    'i.character_id',
    'i.item_id',
  ],
  [
    'ability',
    "JSON_OBJECT('ability_id', a.ability_id, 'level', a.ability_level)",
    'FROM character_abilities a WHERE',
    'a.character_id',
    'a.ability_id',
  ],
  [
    'loadout',
    "JSON_OBJECT('slot', l.slot_number, 'ability_id', l.ability_id, 'loaded', l.is_loaded)",
    'FROM character_ability_slots l WHERE',
    'l.character_id',
    'l.slot_number',
  ],
  [
    'reputation',
    "JSON_OBJECT('organization', r.organization, 'points', r.points)",
    'FROM character_reputations r WHERE',
    'r.character_id',
    '0',
  ],
  [
    'hardline',
    "JSON_OBJECT('district_id', h.district_id, 'hardline_number', h.hardline_number)",
    'FROM character_known_hardlines h WHERE',
    'h.character_id',
    'h.district_id * 4294967296 + h.hardline_number',
  ],
];

/**
 * No ORDER BY on either statement: sorting a UNION puts it in a temporary table and a filesort
 * (about 44 % of characters.load's statement, measured); the rows are grouped by part and sorted
 * by their key here ({@link byOrdAndKey}).
 */
function shardSql(list: string): string {
  return `SELECT ${CHARACTER}, 0 AS ord, NULL AS part, NULL AS j, NULL AS k FROM characters WHERE character_id IN ${list}
  ${PARTS.map(
    ([name, json, from, owner, order], i) =>
      `UNION ALL SELECT ${owner}, ${NONE_BUT_OWNER}, ${i + 1}, '${name}', ${json}, ${order} ${from} ${owner} IN ${list}`,
  ).join('\n  ')}`;
}

/** ORDER BY ord, k, in this process (k is numeric in every part of both statements). */
function byOrdAndKey(a: { ord: unknown; k: unknown }, b: { ord: unknown; k: unknown }): number {
  return Number(a.ord) - Number(b.ord) || Number(a.k ?? 0) - Number(b.k ?? 0);
}

/**
 * The global statement: 'self' (admin level, organization), the crew parts, then the buddies.
 * Each row starts with the character it belongs to (`owner`).
 */
function globalSql(list: string): string {
  return `SELECT d.character_id AS owner, 'self' AS part, 0 AS ord,
       JSON_OBJECT('admin_level', a.admin_level, 'organization_id', o.organization_id, 'organization_name', o.organization_name,
         'faction', o.faction, 'leader_id', o.leader_id, 'treasury', o.treasury_amount) AS j, 0 AS k
    FROM character_directory d JOIN accounts a ON a.account_id = d.account_id
    LEFT JOIN organization_members om ON om.character_id = d.character_id
    LEFT JOIN crew_members cm ON cm.character_id = d.character_id
    LEFT JOIN crews cr ON cr.crew_id = cm.crew_id
    LEFT JOIN organizations o ON o.organization_id = COALESCE(om.organization_id, cr.organization_id)
   WHERE d.character_id IN ${list}
  UNION ALL ${crewPartsOfMembers(list, 1)}
  UNION ALL SELECT e.character_id, 'buddy', 3, JSON_OBJECT('character_id', b.character_id, 'name', b.character_name, 'online', p.character_id IS NOT NULL),
         b.character_id
    FROM buddy_edges e JOIN character_directory b ON b.character_id = e.buddy_id AND b.deleted_at IS NULL
    -- A join, not a correlated EXISTS per buddy: at most one claim per character (its primary key).
    LEFT JOIN presence_claims p ON p.character_id = b.character_id AND p.server_id IS NOT NULL AND p.expires_at > NOW(6)
   WHERE e.character_id IN ${list}`;
}
/** The IN-lists the global statement binds: self, crew, crew members, buddies. */
const GLOBAL_LISTS = 4;

/** The statement and parameters for these characters (exported for bench/explain-enter-world.ts). */
export const spawnShardStatement = inListStatement(shardSql, PARTS.length + 1);
/** The statement and parameters for these characters (exported for bench/explain-enter-world.ts). */
export const spawnGlobalStatement = inListStatement(globalSql, GLOBAL_LISTS);

/** What the shard statement gives for one character. */
export interface SpawnShardPart {
  character: Row;
  parts: Map<string, Array<Record<string, unknown>>>;
}

/** The shard statement, keyed by character: absent for a character whose row is not on this shard. */
export const SPAWN_SHARD: KeyedRead<SpawnShardPart> = {
  operation: 'character_spawn',
  async readMany(conn, keys) {
    const { sql, params } = spawnShardStatement(keys);
    const rows = await conn.rows<Row & { part: string | null; j: unknown; ord: unknown; k: unknown }>(sql, params);
    const found = new Map<number, SpawnShardPart>();
    for (const [owner, own] of groupByKey(rows, (r) => Number(r.character_id))) {
      const first = own.find((r) => r.part === null);
      if (!first) continue; // parts without the character row: not this shard's character (moved away)
      const parts = new Map<string, Array<Record<string, unknown>>>(PARTS.map(([name]) => [name, []]));
      for (const row of own.length > 2 ? own.sort(byOrdAndKey) : own) if (row.part !== null) parts.get(row.part)!.push(parseJson(row.j));
      found.set(owner, { character: first, parts });
    }
    return found;
  },
};

/** The global statement, keyed by character: its rows (part, JSON object) in order. */
export const SPAWN_GLOBAL: KeyedRead<Array<{ part: string; j: Record<string, unknown> }>> = {
  operation: 'character_spawn_global',
  async readMany(conn, keys) {
    const { sql, params } = spawnGlobalStatement(keys);
    const rows = await conn.rows<{ owner: unknown; part: string; j: unknown; ord: unknown; k: unknown }>(sql, params);
    const found = new Map<number, Array<{ part: string; j: Record<string, unknown> }>>();
    for (const [owner, own] of groupByKey(rows, (r) => Number(r.owner))) {
      found.set(
        owner,
        own.sort(byOrdAndKey).map((r) => ({ part: r.part, j: parseJson(r.j) })),
      );
    }
    return found;
  },
};

const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** Builds the spawn from the two parts. */
export function buildSpawn(
  shard: { character: Row; parts: Map<string, Array<Record<string, unknown>>> },
  global: Array<{ part: string; j: Record<string, unknown> }>,
  shardName: string,
): CharacterSpawn {
  const c = shard.character;
  const self = global.find((r) => r.part === 'self')?.j ?? {};
  const reputations = Object.fromEntries(REPUTATION_ORGANIZATIONS.map((o) => [o, 0])) as Reputations['reputations'];
  for (const r of shard.parts.get('reputation')!) reputations[r.organization as keyof typeof reputations] = num(r.points);
  return {
    characterId: num(c.character_id),
    accountId: num(c.account_id),
    name: String(c.character_name),
    firstName: (c.first_name as string | null) ?? null,
    lastName: (c.last_name as string | null) ?? null,
    background: (c.background as string | null) ?? null,
    worldId: numOrNull(c.world_id),
    districtId: num(c.district_id),
    position: { x: num(c.position_x), y: num(c.position_y), z: num(c.position_z) },
    yaw: num(c.yaw),
    health: num(c.health),
    maxHealth: num(c.max_health),
    innerStrength: num(c.inner_strength),
    maxInnerStrength: num(c.max_inner_strength),
    level: num(c.level),
    experience: num(c.experience),
    money: num(c.money),
    profession: num(c.profession),
    faction: String(c.faction),
    alignment: num(c.alignment),
    pvpFlag: Boolean(Number(c.pvp_flag)),
    adminLevel: num(self.admin_level ?? 0),
    appearance: pickAppearance(c.appearance_data as string | Record<string, unknown>),
    inventory: shard.parts.get('inventory')!.map((i) => ({
      itemId: num(i.item_id),
      slot: numOrNull(i.slot),
      clientItemId: numOrNull(i.client_item_id),
      templateId: num(i.template_id),
      count: num(i.count),
      purity: num(i.purity),
      containerType: String(i.container_type),
    })),
    loadout: shard.parts
      .get('loadout')!
      .map((l) => ({ slot: num(l.slot), abilityId: num(l.ability_id), loaded: Boolean(Number(l.loaded)) })),
    abilities: shard.parts.get('ability')!.map((a) => ({ abilityId: num(a.ability_id), level: num(a.level) })),
    reputations: { reputations, cqPoints: num(c.cq_points) },
    knownHardlines: shard.parts.get('hardline')!.map((h) => ({ districtId: num(h.district_id), hardlineNumber: num(h.hardline_number) })),
    crew: crewViewOf(global),
    organization:
      self.organization_id === null || self.organization_id === undefined
        ? null
        : {
            organizationId: num(self.organization_id),
            name: String(self.organization_name),
            faction: String(self.faction),
            masterId: numOrNull(self.leader_id),
            money: num(self.treasury),
          },
    buddies: global
      .filter((r) => r.part === 'buddy')
      .map(({ j }) => ({ characterId: num(j.character_id), name: String(j.name), online: j.online === true || Number(j.online) === 1 })),
    shard: shardName,
  };
}
