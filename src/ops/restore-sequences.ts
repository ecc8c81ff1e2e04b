import mysql from 'mysql2/promise';
import type { NodeAddress } from '../config/node-address.js';
import { connectionOptions } from '../pool/connection-options.js';

/** One id sequence after a restore. */
export interface SequenceReport {
  sequence: string;
  restored: number;
  highestId: number;
  nextValue: number;
}

/**
 * The columns that hold ids from each sequence (docs/design.md: cluster-unique ids). A sequence
 * not listed here is taken to fill every column named like it (`item_id`, `trade_id`).
 */
const SEQUENCE_COLUMNS: Record<string, Array<[table: string, column: string]>> = {
  world_id: [
    ['world_objects', 'object_id'],
    ['hardlines', 'hardline_id'],
    ['vendors', 'vendor_id'],
    ['world_events', 'event_id'],
    ['interlock_encounters', 'interlock_id'],
  ],
};

/**
 * Sets every sequence in global's `id_sequences` past the highest id of it found in any tier,
 * so ids handed out after a restore never collide with restored rows (the restored counter is
 * normally already past them; this makes it certain).
 */
export async function restoreIdSequences(global: mysql.Connection, nodes: NodeAddress[]): Promise<SequenceReport[]> {
  const [sequences] = (await global.query('SELECT sequence_name AS name, next_value AS next FROM id_sequences')) as unknown as [
    Array<{ name: string; next: number | string }>,
  ];
  const reports: SequenceReport[] = [];
  for (const { name, next } of sequences) {
    let highest = 0;
    for (const node of nodes) highest = Math.max(highest, await highestId(node, name));
    const nextValue = Math.max(Number(next), highest + 1);
    if (nextValue !== Number(next)) {
      await global.query('UPDATE id_sequences SET next_value = GREATEST(next_value, ?) WHERE sequence_name = ?', [nextValue, name]);
    }
    reports.push({ sequence: name, restored: Number(next), highestId: highest, nextValue });
  }
  return reports;
}

async function highestId(node: NodeAddress, sequence: string): Promise<number> {
  const c = await mysql.createConnection(connectionOptions(node, { database: node.database }));
  try {
    const listed = SEQUENCE_COLUMNS[sequence];
    const [columns] = (await c.query(
      listed
        ? `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND (TABLE_NAME, COLUMN_NAME) IN (${listed.map(() => '(?, ?)').join(', ')})`
        : 'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLUMN_NAME = ?',
      listed ? [node.database, ...listed.flat()] : [node.database, sequence],
    )) as unknown as [Array<{ t: string; c: string }>];
    let highest = 0;
    for (const { t, c: column } of columns) {
      const q = (id: string) => `\`${id.replace(/`/g, '``')}\``;
      const [[row]] = (await c.query(`SELECT MAX(${q(column)}) AS m FROM ${q(t)}`)) as unknown as [[{ m: number | string | null }]];
      if (row.m !== null && Number.isFinite(Number(row.m))) highest = Math.max(highest, Number(row.m));
    }
    return highest;
  } finally {
    await c.end().catch(() => c.destroy());
  }
}
