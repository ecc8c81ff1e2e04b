import type { PooledConnection, Row } from '../pool/pooled-connection.js';
import { ident, MOVING_TABLES } from '../schema/character-rows.js';
import { movingTables } from '../schema/table-registry.js';
import { inList } from '../pool/in-list.js';

/** One table's rows of a district, in an insert order that satisfies the foreign keys. */
export type DistrictRows = Array<{ table: string; rows: Row[]; surrogate?: string }>;

/** World content of a district, from the table registry (event records such as trades and combat stay where they happened). */
const WORLD_TABLES = movingTables('district');

const IDS_PER_STATEMENT = 500;
const ROWS_PER_INSERT = 200;

/** Locks and lists the characters in a district on this shard, ascending id. */
export async function lockDistrictCharacters(conn: PooledConnection, districtId: number): Promise<number[]> {
  const rows = await conn.rows<{ character_id: number }>(
    'SELECT character_id FROM characters WHERE district_id = ? ORDER BY character_id FOR UPDATE',
    [districtId],
  );
  return rows.map((r) => Number(r.character_id));
}

/**
 * Reads (and locks) every row the district's characters own, a few statements per table (the
 * ids in chunks), then the district's world content. Characters first: a character write locks
 * its character row before any vendor row, so taking them in the same order cannot deadlock.
 */
export async function readDistrictRows(conn: PooledConnection, districtId: number, characterIds: number[]): Promise<DistrictRows> {
  const out: DistrictRows = [];
  for (const { table, where, surrogate } of MOVING_TABLES) {
    const rows: Row[] = [];
    for (let i = 0; i < characterIds.length; i += IDS_PER_STATEMENT) {
      const chunk = characterIds.slice(i, i + IDS_PER_STATEMENT);
      const list = inList(chunk);
      if (!where.includes('character_id = ?')) throw new Error(`cannot batch ${table}`);
      rows.push(
        ...(await conn.rows(`SELECT * FROM ${ident(table)} WHERE ${where.replace('character_id = ?', `character_id IN ${list.sql}`)} FOR UPDATE`, list.params)),
      );
    }
    out.push({ table, rows, surrogate });
  }
  for (const { table, where } of WORLD_TABLES) {
    out.push({ table, rows: await conn.rows(`SELECT * FROM ${ident(table)} WHERE ${where} FOR UPDATE`, [districtId]) });
  }
  return out;
}

/** Inserts a district's rows on its new shard with multi-row statements, surrogate ids left to the shard. */
export async function insertDistrictRows(conn: PooledConnection, data: DistrictRows): Promise<number> {
  let count = 0;
  for (const { table, rows, surrogate } of data) {
    if (rows.length === 0) continue;
    const columns = Object.keys(rows[0]!).filter((c) => c !== surrogate);
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const chunk = rows.slice(i, i + ROWS_PER_INSERT);
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      await conn.exec(
        `INSERT INTO ${ident(table)} (${columns.map(ident).join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`,
        chunk.flatMap((row) => columns.map((c) => row[c] ?? null)),
      );
      count += chunk.length;
    }
  }
  return count;
}

/**
 * Deletes a district's rows from the shard it left: characters (their rows follow by ON DELETE
 * CASCADE) and world content. Foreign key checks are off for the world rows only so the ledger
 * rows that name a vendor keep its id (ON DELETE SET NULL would rewrite history here).
 */
export async function deleteDistrictRows(conn: PooledConnection, districtId: number, characterIds: number[]): Promise<void> {
  for (let i = 0; i < characterIds.length; i += IDS_PER_STATEMENT) {
    const chunk = characterIds.slice(i, i + IDS_PER_STATEMENT);
    const list = inList(chunk);
    await conn.exec(`DELETE FROM characters WHERE character_id IN ${list.sql}`, list.params);
  }
  await conn.exec('SET SESSION foreign_key_checks = 0');
  try {
    await conn.exec('DELETE FROM vendor_inventory WHERE vendor_id IN (SELECT vendor_id FROM vendors WHERE district_id = ?)', [districtId]);
    for (const table of ['vendors', 'world_events', 'hardlines', 'world_objects']) {
      await conn.exec(`DELETE FROM ${ident(table)} WHERE district_id = ?`, [districtId]);
    }
  } finally {
    await conn.exec('SET SESSION foreign_key_checks = 1');
  }
}
