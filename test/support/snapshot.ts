/**
 * A full SQL snapshot of sandbox nodes (every base table, every row, in key order), for tests
 * that must prove an operation changed nothing anywhere.
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { Sandbox } from '../../src/index.js';
import { withSql } from './twopc-invariants.js';

/** Tables that legitimately change on a refused call: id blocks handed out before the checks. */
const VOLATILE = new Set(['id_sequences', 'schema_migrations']);

export type Snapshot = Record<string, Record<string, string[]>>;

export async function snapshotNodes(sandbox: Sandbox, nodes: string[]): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const node of nodes) {
    out[node] = await withSql(sandbox, node, async (conn) => {
      const [tables] = await conn.query<RowDataPacket[]>(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
      );
      const perTable: Record<string, string[]> = {};
      for (const { t } of tables) {
        if (VOLATILE.has(t)) continue;
        const [rows] = await conn.query<RowDataPacket[]>(`SELECT * FROM \`${t}\``);
        perTable[t] = rows.map((r) => JSON.stringify(r)).sort();
      }
      return perTable;
    });
  }
  return out;
}

/** The tables whose rows differ between two snapshots, per node (empty when equal). */
export function snapshotDiff(before: Snapshot, after: Snapshot): string[] {
  const diffs: string[] = [];
  for (const node of Object.keys(before)) {
    const tables = new Set([...Object.keys(before[node]!), ...Object.keys(after[node] ?? {})]);
    for (const t of tables) {
      const a = before[node]![t] ?? [];
      const b = after[node]?.[t] ?? [];
      if (a.length !== b.length || a.some((row, i) => row !== b[i])) diffs.push(`${node}.${t}`);
    }
  }
  return diffs;
}
