/**
 * Direct-SQL checks for the two-phase-commit tests: every figure here comes from plain queries
 * on each server (root, no library code in between), so a bug in the library cannot hide itself.
 */
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import type { Cluster, Sandbox } from '../../src/index.js';
import { parseRecoverRow, type XaRecoverRow } from '../../src/twopc/xid.js';

export const SHARD_PRIMARIES = ['alpha-primary', 'beta-primary'] as const;
export const PRIMARIES = ['global-primary', ...SHARD_PRIMARIES] as const;

/** Runs `fn` on a fresh root connection to a sandbox node (fresh: servers get killed). */
export async function withSql<T>(sandbox: Sandbox, nodeName: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const node = sandbox.node(nodeName);
  const database = nodeName.startsWith('global') ? 'mxo_global' : 'mxo_shard';
  const conn = await mysql.createConnection({ host: node.host, port: node.port, user: 'root', database, supportBigNumbers: true });
  try {
    return await fn(conn);
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

export async function rowsOn<T = RowDataPacket>(sandbox: Sandbox, nodeName: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withSql(sandbox, nodeName, async (c) => (await c.query<RowDataPacket[]>(sql, params))[0] as unknown as T[]);
}

/** `XA RECOVER` on one server, as gtrid/bqual strings (every format id, not just ours). */
export async function xaRecover(sandbox: Sandbox, nodeName: string): Promise<Array<{ gtrid: string; bqual: string }>> {
  const rows = await rowsOn<XaRecoverRow>(sandbox, nodeName, 'XA RECOVER');
  return rows.map((r) => parseRecoverRow(r) ?? { gtrid: `foreign:${String(r.data)}`, bqual: '' });
}

/** Prepared branches on every primary, by node; empty arrays when nothing is in doubt. */
export async function xaRecoverAll(sandbox: Sandbox, primaries: readonly string[] = PRIMARIES): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const n of primaries) out[n] = (await xaRecover(sandbox, n)).map((x) => `${x.gtrid}/${x.bqual}`);
  return out;
}

/** The decision recorded for `gtrid` on its decision node (the node named inside the gtrid). */
export async function decisionOf(sandbox: Sandbox, gtrid: string): Promise<'commit' | 'abort' | undefined> {
  const key = gtrid.split(':')[1]!;
  const [row] = await rowsOn<{ decision: 'commit' | 'abort' }>(sandbox, `${key}-primary`, 'SELECT decision FROM twopc_decisions WHERE gtrid = ?', [gtrid]);
  return row?.decision;
}

export interface WorldState {
  /** character id -> money, from whichever shard holds the character. */
  money: Map<number, number>;
  totalMoney: number;
  /** item id -> owner character id. */
  items: Map<number, number>;
  /** character id -> shard holding its row. */
  shardOf: Map<number, string>;
  /** Every problem found (duplicates, orphans, directory mismatches). Empty when consistent. */
  problems: string[];
}

/**
 * Reads money, items and characters from every shard primary and the directory from global,
 * and lists every violated invariant: a character on two shards or none, a directory row that
 * names the wrong shard, an item in two inventories, an item whose owner is elsewhere, an
 * orphan row of a moving table.
 */
export async function readWorld(
  sandbox: Sandbox,
  characterIds?: number[],
  /** The sandbox node serving as each shard's primary (a failover promotes a replica). */
  shardPrimaries: readonly string[] = SHARD_PRIMARIES,
): Promise<WorldState> {
  const state: WorldState = { money: new Map(), totalMoney: 0, items: new Map(), shardOf: new Map(), problems: [] };
  const directory = new Map<number, string>();
  for (const r of await rowsOn<{ character_id: number; shard_name: string }>(sandbox, 'global-primary', 'SELECT character_id, shard_name FROM character_directory')) {
    directory.set(Number(r.character_id), r.shard_name);
  }
  for (const node of shardPrimaries) {
    const shard = node.replace(/-(primary|replica-\d+)$/, '');
    await withSql(sandbox, node, async (c) => {
      const [chars] = await c.query<RowDataPacket[]>('SELECT character_id, money FROM characters');
      for (const r of chars) {
        const id = Number(r.character_id);
        if (state.shardOf.has(id)) state.problems.push(`character ${id} on ${state.shardOf.get(id)} and ${shard}`);
        state.shardOf.set(id, shard);
        state.money.set(id, Number(r.money));
        state.totalMoney += Number(r.money);
        if (directory.get(id) !== shard) state.problems.push(`character ${id} lives on ${shard}, directory says ${directory.get(id)}`);
      }
      const [items] = await c.query<RowDataPacket[]>('SELECT item_id, character_id FROM character_inventory');
      for (const r of items) {
        const item = Number(r.item_id);
        if (state.items.has(item)) state.problems.push(`item ${item} owned twice (${state.items.get(item)} and ${r.character_id}@${shard})`);
        state.items.set(item, Number(r.character_id));
      }
      // Rows of moving tables whose character is not on this shard (a half-done move).
      for (const table of ['character_statistics', 'pvp_statistics', 'character_inventory', 'character_abilities']) {
        const [orphans] = await c.query<RowDataPacket[]>(
          `SELECT t.character_id FROM ${table} t LEFT JOIN characters ch ON ch.character_id = t.character_id WHERE ch.character_id IS NULL`,
        );
        for (const o of orphans) state.problems.push(`orphan ${table} row of ${o.character_id} on ${shard}`);
      }
      const [mods] = await c.query<RowDataPacket[]>(
        'SELECT m.item_id FROM item_modifications m LEFT JOIN character_inventory i ON i.item_id = m.item_id WHERE i.item_id IS NULL',
      );
      for (const o of mods) state.problems.push(`orphan item_modifications row of item ${o.item_id} on ${shard}`);
    });
  }
  for (const [id, shard] of directory) {
    if (characterIds && !characterIds.includes(id)) continue;
    if (!state.shardOf.has(id)) state.problems.push(`directory names ${id} on ${shard}, no shard has it`);
  }
  return state;
}

/** Waits until `gtrid`'s age exceeds the recovery grace period (plus a margin). */
export async function waitPastGrace(gtrid: string, graceMs: number): Promise<void> {
  const startedAt = Number(gtrid.split(':')[2]);
  const wait = startedAt + graceMs + 150 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/**
 * Runs `db.recover()` until `XA RECOVER` is empty on every primary (checked with direct SQL),
 * or throws after `timeoutMs` with what is still prepared.
 */
export async function recoverUntilClean(
  db: Cluster,
  sandbox: Sandbox,
  timeoutMs = 20_000,
  primaries: readonly string[] = PRIMARIES,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let rounds = 0;
  for (;;) {
    rounds++;
    await db.recover();
    const left = await xaRecoverAll(sandbox, primaries);
    if (Object.values(left).every((l) => l.length === 0)) return rounds;
    if (Date.now() > deadline) throw new Error(`still prepared after ${rounds} recovery rounds: ${JSON.stringify(left)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Replica equals primary: waits for the replica to apply the primary's binlog position, then
 * compares CHECKSUM TABLE of every table that trades and moves write.
 */
export async function compareReplica(sandbox: Sandbox, shard: string): Promise<string[]> {
  const tables = ['characters', 'character_inventory', 'character_statistics', 'pvp_statistics', 'item_modifications', 'trade_sessions', 'transaction_history', 'twopc_decisions'];
  const pos = (await rowsOn<{ pos: string }>(sandbox, `${shard}-primary`, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos'))[0]!.pos;
  const [waited] = await rowsOn<{ w: number }>(sandbox, `${shard}-replica-1`, 'SELECT MASTER_GTID_WAIT(?, 30) AS w', [pos]);
  if (Number(waited!.w) !== 0) {
    const [st] = await rowsOn<Record<string, unknown>>(sandbox, `${shard}-replica-1`, 'SHOW SLAVE STATUS');
    const [gp] = await rowsOn<Record<string, unknown>>(sandbox, `${shard}-replica-1`, 'SELECT @@gtid_slave_pos AS slave_pos, @@gtid_current_pos AS cur');
    const why = st
      ? { io: st.Slave_IO_Running, sql: st.Slave_SQL_Running, ioError: st.Last_IO_Error, sqlError: st.Last_SQL_Error, gtidIo: st.Gtid_IO_Pos, ...gp }
      : 'not a replica';
    return [`${shard}-replica-1 did not reach ${pos}: ${JSON.stringify(why)}`];
  }
  const sum = async (node: string) => {
    const rows = await rowsOn<{ Table: string; Checksum: number }>(sandbox, node, `CHECKSUM TABLE ${tables.join(', ')}`);
    return new Map(rows.map((r) => [r.Table, String(r.Checksum)]));
  };
  const [p, r] = [await sum(`${shard}-primary`), await sum(`${shard}-replica-1`)];
  return [...p].filter(([t, c]) => r.get(t) !== c).map(([t, c]) => `${shard}: ${t} primary ${c} replica ${r.get(t)}`);
}
