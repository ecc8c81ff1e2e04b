import type { Connection } from 'mysql2/promise';

/** Rows and a content checksum of one table. */
export interface TableChecksum {
  rows: number;
  checksum: string;
}

/**
 * Checksums every base table of `database` as its rows read as text: `COUNT(*)` and the XOR of
 * each row's CRC32 over its columns (NULL marked apart from ''). Text, not `CHECKSUM TABLE`'s
 * binary form, because a dump carries values as text: a FLOAT restored from its printed form
 * may differ in its last bits yet is the same value for everyone who reads it. Runs in the
 * caller's transaction, so inside a consistent snapshot it checksums that snapshot.
 */
export async function checksumTables(conn: Connection, database: string): Promise<Record<string, TableChecksum>> {
  const [columns] = (await conn.query(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN
        (SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE')
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [database, database],
  )) as unknown as [Array<{ t: string; c: string }>];
  const byTable = new Map<string, string[]>();
  for (const { t, c } of columns) byTable.set(t, [...(byTable.get(t) ?? []), c]);
  const result: Record<string, TableChecksum> = {};
  for (const [table, cols] of [...byTable.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const q = (id: string) => `\`${id.replace(/`/g, '``')}\``;
    const values = cols.map((c) => q(c)).join(', ');
    const nulls = cols.map((c) => `ISNULL(${q(c)})`).join(', ');
    const [[row]] = (await conn.query(
      `SELECT COUNT(*) AS n, COALESCE(BIT_XOR(CRC32(CONCAT_WS(0x1f, ${values}, ${nulls}))), 0) AS x FROM ${q(database)}.${q(table)}`,
    )) as unknown as [[{ n: number | string; x: number | string }]];
    result[table] = { rows: Number(row.n), checksum: String(row.x) };
  }
  return result;
}

/** The tables whose checksums differ between two sets (missing on either side included). */
export function compareChecksums(expected: Record<string, TableChecksum>, actual: Record<string, TableChecksum>): string[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const differ: string[] = [];
  for (const name of names) {
    const e = expected[name];
    const a = actual[name];
    if (!e) differ.push(`${name}: not in the backup`);
    else if (!a) differ.push(`${name}: missing after restore`);
    else if (e.rows !== a.rows || e.checksum !== a.checksum) {
      differ.push(`${name}: ${a.rows} rows (checksum ${a.checksum}), backup has ${e.rows} (checksum ${e.checksum})`);
    }
  }
  return differ;
}
