import type { PooledConnection, Row } from '../pool/pooled-connection.js';

/**
 * The tables whose rows belong to a character and move with it between shards, in an order
 * that satisfies their foreign keys on insert. `surrogate` names a shard-local AUTO_INCREMENT id
 * that nothing references: it is left out on copy so the new shard assigns its own.
 * Event records (logs, trades, combat) are not here: they stay where they happened.
 */
export const MOVING_TABLES: Array<{ table: string; where: string; surrogate?: string }> = [
  { table: 'characters', where: 'character_id = ?' },
  { table: 'character_statistics', where: 'character_id = ?' },
  { table: 'character_abilities', where: 'character_id = ?' },
  // The ability loadout (slots reference character_abilities, so they come after it).
  { table: 'character_ability_slots', where: 'character_id = ?' },
  { table: 'character_reputations', where: 'character_id = ?' },
  { table: 'character_faction_standings', where: 'character_id = ?' },
  { table: 'character_inventory', where: 'character_id = ?' },
  {
    table: 'item_modifications',
    where: 'item_id IN (SELECT item_id FROM character_inventory WHERE character_id = ?)',
    surrogate: 'modification_id',
  },
  { table: 'character_equipment', where: 'character_id = ?' },
  { table: 'character_missions', where: 'character_id = ?' },
  { table: 'mission_objective_progress', where: 'character_id = ?' },
  { table: 'mission_history', where: 'character_id = ?', surrogate: 'history_id' },
  { table: 'pvp_statistics', where: 'character_id = ?' },
  { table: 'character_relationships', where: 'character_id = ?' },
  // Hardlines the character discovered, by the client's (district, number).
  { table: 'character_known_hardlines', where: 'character_id = ?' },
  // GM bookmarks (named places).
  { table: 'character_bookmarks', where: 'character_id = ?' },
  // Idempotency keys follow the character, so a retry after a move still finds its key.
  { table: 'idempotency_keys', where: 'character_id = ?' },
];

export type CharacterRows = Array<{ table: string; rows: Row[]; surrogate?: string }>;

/** Reads (and locks) every row of a character on its current shard. */
export async function readCharacterRows(conn: PooledConnection, characterId: number): Promise<CharacterRows> {
  const result: CharacterRows = [];
  for (const { table, where, surrogate } of MOVING_TABLES) {
    const rows = await conn.rows(`SELECT * FROM ${ident(table)} WHERE ${where} FOR UPDATE`, [characterId]);
    result.push({ table, rows, surrogate });
  }
  return result;
}

/** Inserts a character's rows on its new shard, keeping every id but shard-local surrogates. */
export async function insertCharacterRows(conn: PooledConnection, data: CharacterRows, overrides: Row = {}): Promise<void> {
  for (const { table, rows, surrogate } of data) {
    for (const source of rows) {
      const row = { ...source, ...(table === 'characters' ? overrides : {}) };
      if (surrogate) delete row[surrogate];
      await insertRow(conn, table, row);
    }
  }
}

/** Inserts one row read from another shard, column for column (names from our own schema). */
export async function insertRow(conn: PooledConnection, table: string, row: Row): Promise<void> {
  const columns = Object.keys(row);
  await conn.exec(
    `INSERT INTO ${ident(table)} (${columns.map(ident).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    columns.map((c) => row[c] ?? null),
  );
}

/** Deletes a character from a shard; its owned rows go with it by ON DELETE CASCADE. */
export async function deleteCharacterRows(conn: PooledConnection, characterId: number): Promise<void> {
  await conn.exec('DELETE FROM characters WHERE character_id = ?', [characterId]);
}

/** Backquotes an identifier taken from the library's own schema (never from user input). */
export function ident(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unsafe identifier ${name}`);
  return `\`${name}\``;
}
