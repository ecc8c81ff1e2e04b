/**
 * The table registry, in the spirit of Vitess's VSchema: every table of the migrated schema (sql/),
 * where it lives, its key, what it moves with and who owns it. Character moves
 * (src/schema/character-rows.ts), district moves (src/ops/district-rows.ts), log maintenance
 * (src/ops/log-partitions.ts) and the schema test derive their lists from here, and a test keeps
 * docs/design.md's "Where each table lives" in step. A new table is added here first.
 */

/**
 * - `global`: one copy, on the global primary;
 * - `reference`: a master copy on global and the same rows on every shard;
 * - `shard`: on every shard, each shard with its own rows;
 * - `node`: on global and every shard, each node's own bookkeeping rows.
 */
export type Tier = 'global' | 'reference' | 'shard' | 'node';

/** What a shard row moves with between shards: its character, its district, or nothing. */
export type MovesWith = 'character' | 'district' | 'never';

/** The owner: a game system's folder under src/systems/, or an infrastructure folder under src/. */
export type Owner =
  | 'abilities'
  | 'accounts'
  | 'characters'
  | 'combat'
  | 'crews'
  | 'economy'
  | 'factions'
  | 'interlock'
  | 'inventory'
  | 'items'
  | 'logs'
  | 'missions'
  | 'moderation'
  | 'organizations'
  | 'presence'
  | 'servers'
  | 'social'
  | 'trades'
  | 'vendors'
  | 'world'
  // Infrastructure (src/<folder>).
  | 'migrate'
  | 'ops'
  | 'routing'
  | 'twopc';

export interface TableEntry {
  table: string;
  tier: Tier;
  /** The primary key's columns. */
  key: readonly string[];
  movesWith: MovesWith;
  owner: Owner;
  /** How a move selects the rows (`?` is the character or district id); default `<character|district>_id = ?`. */
  moveWhere?: string;
  /** A shard-local AUTO_INCREMENT id nothing references: left out on a move so the new shard assigns its own. */
  surrogate?: string;
  /** A log table partitioned by month on this column (maintenance keeps its partitions ready). */
  partitionedBy?: string;
}

/**
 * Every table. Rows that move are listed in an order that satisfies their foreign keys on insert.
 * Event records (trades, ledger, combat, logs) are `never`: they stay where they happened.
 */
export const TABLES: readonly TableEntry[] = [
  // Global.
  { table: 'accounts', tier: 'global', key: ['account_id'], movesWith: 'never', owner: 'accounts' },
  { table: 'account_security', tier: 'global', key: ['account_id'], movesWith: 'never', owner: 'accounts' },
  { table: 'account_sessions', tier: 'global', key: ['session_id'], movesWith: 'never', owner: 'accounts' },
  { table: 'account_login_keys', tier: 'global', key: ['account_id'], movesWith: 'never', owner: 'accounts' },
  { table: 'login_throttle', tier: 'global', key: ['throttle_key'], movesWith: 'never', owner: 'accounts' },
  { table: 'account_punishments', tier: 'global', key: ['punishment_id'], movesWith: 'never', owner: 'moderation' },
  { table: 'organizations', tier: 'global', key: ['organization_id'], movesWith: 'never', owner: 'organizations' },
  { table: 'organization_members', tier: 'global', key: ['character_id', 'organization_id'], movesWith: 'never', owner: 'organizations' },
  { table: 'crews', tier: 'global', key: ['crew_id'], movesWith: 'never', owner: 'crews' },
  { table: 'crew_members', tier: 'global', key: ['character_id', 'crew_id'], movesWith: 'never', owner: 'crews' },
  { table: 'buddy_edges', tier: 'global', key: ['character_id', 'buddy_id'], movesWith: 'never', owner: 'social' },
  { table: 'character_directory', tier: 'global', key: ['character_id'], movesWith: 'never', owner: 'routing' },
  { table: 'character_name_reservations', tier: 'global', key: ['character_name'], movesWith: 'never', owner: 'characters' },
  { table: 'id_sequences', tier: 'global', key: ['sequence_name'], movesWith: 'never', owner: 'routing' },
  { table: 'presence_claims', tier: 'global', key: ['character_id'], movesWith: 'never', owner: 'presence' },
  { table: 'presence_handoffs', tier: 'global', key: ['ticket_hash'], movesWith: 'never', owner: 'presence' },
  { table: 'worlds', tier: 'global', key: ['world_id'], movesWith: 'never', owner: 'servers' },
  { table: 'vendor_client_ids', tier: 'global', key: ['client_object_id'], movesWith: 'never', owner: 'vendors' },
  // The cluster roll-up; every shard has its own server_economy too.
  { table: 'server_economy', tier: 'global', key: ['tracking_date'], movesWith: 'never', owner: 'economy' },
  { table: 'cluster_shards', tier: 'global', key: ['shard_name'], movesWith: 'never', owner: 'ops' },
  { table: 'district_placement', tier: 'global', key: ['district_id'], movesWith: 'never', owner: 'ops' },
  // Each shard's (and global's) current nodes after a failover, versioned (src/ops/failover.ts).
  { table: 'shard_primaries', tier: 'global', key: ['shard_name'], movesWith: 'never', owner: 'ops' },
  { table: 'district_moves', tier: 'global', key: ['move_id'], movesWith: 'never', owner: 'ops' },
  { table: 'maintenance_runs', tier: 'global', key: ['job_name'], movesWith: 'never', owner: 'ops' },

  // Reference: defined on global, copied to every shard.
  { table: 'item_templates', tier: 'reference', key: ['template_id'], movesWith: 'never', owner: 'items' },
  { table: 'mission_templates', tier: 'reference', key: ['mission_id'], movesWith: 'never', owner: 'missions' },
  { table: 'ability_templates', tier: 'reference', key: ['ability_id'], movesWith: 'never', owner: 'abilities' },
  { table: 'districts', tier: 'reference', key: ['district_id'], movesWith: 'never', owner: 'world' },

  // Every node's own bookkeeping.
  { table: 'twopc_decisions', tier: 'node', key: ['gtrid'], movesWith: 'never', owner: 'twopc' },
  { table: 'schema_migrations', tier: 'node', key: ['tier', 'file_name'], movesWith: 'never', owner: 'migrate' },

  // Shard rows that move with their character, in insert order.
  { table: 'characters', tier: 'shard', key: ['character_id'], movesWith: 'character', owner: 'characters' },
  { table: 'character_statistics', tier: 'shard', key: ['character_id'], movesWith: 'character', owner: 'characters' },
  { table: 'character_abilities', tier: 'shard', key: ['character_id', 'ability_id'], movesWith: 'character', owner: 'abilities' },
  // The ability loadout (slots reference character_abilities, so they come after it).
  { table: 'character_ability_slots', tier: 'shard', key: ['character_id', 'slot_number'], movesWith: 'character', owner: 'abilities' },
  { table: 'character_reputations', tier: 'shard', key: ['character_id', 'organization'], movesWith: 'character', owner: 'factions' },
  { table: 'character_faction_standings', tier: 'shard', key: ['character_id', 'faction'], movesWith: 'character', owner: 'factions' },
  { table: 'character_inventory', tier: 'shard', key: ['item_id'], movesWith: 'character', owner: 'inventory' },
  {
    table: 'item_modifications',
    tier: 'shard',
    key: ['modification_id'],
    movesWith: 'character',
    owner: 'inventory',
    moveWhere: 'item_id IN (SELECT item_id FROM character_inventory WHERE character_id = ?)',
    surrogate: 'modification_id',
  },
  { table: 'character_equipment', tier: 'shard', key: ['character_id', 'slot_name'], movesWith: 'character', owner: 'inventory' },
  { table: 'character_missions', tier: 'shard', key: ['character_id', 'mission_id'], movesWith: 'character', owner: 'missions' },
  {
    table: 'mission_objective_progress',
    tier: 'shard',
    key: ['character_id', 'mission_id', 'objective_index'],
    movesWith: 'character',
    owner: 'missions',
  },
  { table: 'mission_history', tier: 'shard', key: ['history_id'], movesWith: 'character', owner: 'missions', surrogate: 'history_id' },
  { table: 'pvp_statistics', tier: 'shard', key: ['character_id'], movesWith: 'character', owner: 'combat' },
  { table: 'character_relationships', tier: 'shard', key: ['character_id', 'target_character_id'], movesWith: 'character', owner: 'social' },
  // Hardlines the character discovered, by the client's (district, number).
  {
    table: 'character_known_hardlines',
    tier: 'shard',
    key: ['character_id', 'district_id', 'hardline_number'],
    movesWith: 'character',
    owner: 'world',
  },
  // GM bookmarks (named places).
  { table: 'character_bookmarks', tier: 'shard', key: ['character_id', 'bookmark_name'], movesWith: 'character', owner: 'world' },
  // Idempotency keys follow the character, so a retry after a move still finds its key.
  { table: 'idempotency_keys', tier: 'shard', key: ['character_id', 'operation', 'key_hash'], movesWith: 'character', owner: 'routing' },

  // Shard rows that move with their district (world content), in insert order.
  { table: 'world_objects', tier: 'shard', key: ['object_id'], movesWith: 'district', owner: 'world' },
  { table: 'hardlines', tier: 'shard', key: ['hardline_id'], movesWith: 'district', owner: 'world' },
  { table: 'world_events', tier: 'shard', key: ['event_id'], movesWith: 'district', owner: 'world' },
  { table: 'vendors', tier: 'shard', key: ['vendor_id'], movesWith: 'district', owner: 'vendors' },
  {
    table: 'vendor_inventory',
    tier: 'shard',
    key: ['vendor_id', 'template_id'],
    movesWith: 'district',
    owner: 'vendors',
    moveWhere: 'vendor_id IN (SELECT vendor_id FROM vendors WHERE district_id = ?)',
  },

  // Shard rows that stay: event records where the event happened, logs, the shard's bookkeeping.
  { table: 'trade_sessions', tier: 'shard', key: ['trade_id'], movesWith: 'never', owner: 'trades' },
  { table: 'transaction_history', tier: 'shard', key: ['transaction_id'], movesWith: 'never', owner: 'characters' },
  { table: 'combat_encounters', tier: 'shard', key: ['encounter_id'], movesWith: 'never', owner: 'combat' },
  { table: 'interlock_encounters', tier: 'shard', key: ['interlock_id'], movesWith: 'never', owner: 'interlock' },
  { table: 'interlock_rounds', tier: 'shard', key: ['round_id'], movesWith: 'never', owner: 'interlock' },
  { table: 'system_logs', tier: 'shard', key: ['log_id', 'created_at'], movesWith: 'never', owner: 'logs', partitionedBy: 'created_at' },
  {
    table: 'player_action_logs',
    tier: 'shard',
    key: ['action_id', 'action_timestamp'],
    movesWith: 'never',
    owner: 'logs',
    partitionedBy: 'action_timestamp',
  },
  {
    table: 'chat_logs',
    tier: 'shard',
    key: ['message_id', 'message_timestamp'],
    movesWith: 'never',
    owner: 'logs',
    partitionedBy: 'message_timestamp',
  },
  { table: 'archived_system_logs', tier: 'shard', key: ['archive_id'], movesWith: 'never', owner: 'logs' },
  { table: 'archived_player_action_logs', tier: 'shard', key: ['archive_id'], movesWith: 'never', owner: 'logs' },
  { table: 'archived_chat_logs', tier: 'shard', key: ['archive_id'], movesWith: 'never', owner: 'logs' },
  { table: 'archived_characters', tier: 'shard', key: ['archive_id'], movesWith: 'never', owner: 'characters' },
  { table: 'server_economy', tier: 'shard', key: ['tracking_date'], movesWith: 'never', owner: 'economy' },
  { table: 'server_metrics', tier: 'shard', key: ['metric_id'], movesWith: 'never', owner: 'ops' },
  { table: 'district_fences', tier: 'shard', key: ['district_id'], movesWith: 'never', owner: 'routing' },
];

/** The tables on a node of this kind: a global primary, or a shard primary. */
export function tablesOn(node: 'global' | 'shard'): string[] {
  const tiers: Tier[] = node === 'global' ? ['global', 'reference', 'node'] : ['shard', 'reference', 'node'];
  return [...new Set(TABLES.filter((t) => tiers.includes(t.tier)).map((t) => t.table))];
}

/** The shard tables that move with `what`, in insert order, with how a move selects their rows. */
export function movingTables(what: 'character' | 'district'): Array<{ table: string; where: string; surrogate?: string }> {
  return TABLES.filter((t) => t.tier === 'shard' && t.movesWith === what).map((t) => ({
    table: t.table,
    where: t.moveWhere ?? `${what}_id = ?`,
    ...(t.surrogate ? { surrogate: t.surrogate } : {}),
  }));
}

/** The one key column of a shard table keyed by a single id. */
export function singleKey(table: string): string {
  const entry = TABLES.find((t) => t.table === table && t.tier === 'shard');
  if (!entry || entry.key.length !== 1) throw new Error(`${table} is not a shard table with a one-column key`);
  return entry.key[0]!;
}

/** The partitioned log tables and their partition column. */
export function logTables(): Array<{ table: string; column: string }> {
  return TABLES.filter((t) => t.partitionedBy).map((t) => ({ table: t.table, column: t.partitionedBy! }));
}

/** The row of docs/design.md's "Where each table lives" a table belongs in. */
export function placementLabel(t: TableEntry): string {
  if (t.tier === 'global') return 'global';
  if (t.tier === 'reference') return 'reference (master copy on global, the same rows on every shard)';
  if (t.tier === 'node') return 'every node (each node its own rows)';
  if (t.movesWith === 'character') return 'shard, moving with the character';
  if (t.movesWith === 'district') return 'shard, moving with the district (world state)';
  return 'shard, never moved (event records, logs, shard bookkeeping)';
}
