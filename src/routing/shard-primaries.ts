import mysql, { type RowDataPacket } from 'mysql2/promise';
import { errnoOf } from '../pool/mysql-errors.js';
import type { NodePool } from '../pool/node-pool.js';

/** A shard's nodes as the last failover recorded them on global (`shard_primaries`). */
export interface RecordedPrimary {
  shard: string;
  host: string;
  port: number;
  /** `host:port` of each replica following the recorded primary. */
  replicas: Array<{ host: string; port: number }>;
  version: number;
}

const ER_BAD_DB = 1049;
const ER_NO_SUCH_TABLE = 1146;
const SELECT = 'SELECT shard_name, primary_host, primary_port, replicas, version FROM shard_primaries';

interface Row {
  shard_name: string;
  primary_host: string;
  primary_port: number;
  replicas: string;
  version: number;
}

/** Reads every recorded shard primary from global; [] before migrate (no table) or before any failover. */
export async function loadShardPrimaries(global: NodePool): Promise<RecordedPrimary[]> {
  try {
    return await global.use('shard_primaries_load', async (conn) => (await conn.rows<Row>(SELECT)).map(toRecord));
  } catch (error) {
    const errno = errnoOf(error) ?? errnoOf((error as { cause?: unknown }).cause);
    if (errno === ER_BAD_DB || errno === ER_NO_SUCH_TABLE) return [];
    throw error;
  }
}

/** The same read at open, on a connection of its own (see loadPlacementOnce); [] when it cannot. */
export async function loadShardPrimariesOnce(global: NodePool, timeoutMs: number): Promise<RecordedPrimary[]> {
  const { host, port, user, password, database } = global.address;
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ host, port, user, password, database, connectTimeout: timeoutMs });
    conn.on('error', () => {});
    const [rows] = await conn.query<RowDataPacket[]>(SELECT);
    return (rows as unknown as Row[]).map(toRecord);
  } catch {
    return [];
  } finally {
    await conn?.end().catch(() => conn?.destroy());
  }
}

/** `host:port,host:port` -> addresses (IPv6 hosts in brackets). */
export function parseEndpoints(text: string): Array<{ host: string; port: number }> {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const at = s.lastIndexOf(':');
      return { host: s.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(at + 1)) };
    });
}

/** Addresses -> `host:port,host:port`. */
export function formatEndpoints(endpoints: Array<{ host: string; port: number }>): string {
  return endpoints.map((e) => `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`).join(',');
}

function toRecord(row: Row): RecordedPrimary {
  return {
    shard: row.shard_name,
    host: row.primary_host,
    port: Number(row.primary_port),
    replicas: parseEndpoints(row.replicas),
    version: Number(row.version),
  };
}
