/** Readiness polling and GTID replication setup over mysql2 (shared by both providers). */
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { SandboxError, verbose } from './topology.js';

export const REPL_USER = 'repl';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function connectRoot(host: string, port: number, connectTimeout = 2000): Promise<Connection> {
  return mysql.createConnection({ host, port, user: 'root', password: '', connectTimeout, multipleStatements: false });
}

/** Run `fn` with a fresh root connection, closing it afterwards. */
export async function withRoot<T>(host: string, port: number, fn: (c: Connection) => Promise<T>): Promise<T> {
  const c = await connectRoot(host, port);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

/**
 * Poll a root connection every 50 ms until the server answers `SELECT 1`.
 * `failed()` is checked between attempts: a string return (e.g. the process exited, with the tail
 * of its error log) aborts the wait with that message.
 */
export async function waitReady(
  name: string,
  host: string,
  port: number,
  timeoutMs: number,
  failed: () => string | undefined,
  /** When set, the server must report this data directory: another server on a reused port is not ours. */
  expectDatadir?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const why = failed();
    if (why !== undefined) throw new SandboxError(`sandbox node ${name} failed to start: ${why}`);
    try {
      await withRoot(host, port, async (c) => {
        const [rows] = await c.query<RowDataPacket[]>('SELECT @@datadir AS datadir');
        const datadir = String(rows[0]?.datadir ?? '');
        if (expectDatadir && path.resolve(datadir) !== path.resolve(expectDatadir)) {
          throw new Error(`port ${port} is answered by another server (datadir ${datadir})`);
        }
      });
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new SandboxError(
        `sandbox node ${name} (${host}:${port}) not ready after ${timeoutMs} ms: ${(last as Error)?.message ?? last}`,
        { cause: last },
      );
    }
    await sleep(50);
  }
}

export interface ReplNode {
  name: string;
  role: 'primary' | 'replica';
  /** Where this process reaches the node. */
  host: string;
  port: number;
  /** For replicas: the primary's node name. */
  primary?: string;
}

export interface ReplicationSetup {
  nodes: ReplNode[];
  /** Host part of the `repl` account on primaries ('127.0.0.1' locally, '%' in containers). */
  replUserHost: string;
  /** Address a replica uses to reach its primary. */
  masterAddress(primaryName: string): { host: string; port: number };
  password: string;
  timeoutMs?: number;
}

/**
 * Fresh-cluster replication: RESET MASTER wherever the binlog already holds GTIDs (a container's
 * init scripts; stray local GTIDs would break gtid_strict_mode), the `repl` account on each
 * primary with sql_log_bin=0 (never replicated), then CHANGE MASTER ... MASTER_USE_GTID=slave_pos
 * and START SLAVE on each replica, and wait until both replication threads report Yes.
 */
export async function setupReplication(s: ReplicationSetup): Promise<void> {
  const timeoutMs = s.timeoutMs ?? 30_000;
  const t0 = Date.now();
  await Promise.all(
    s.nodes.map((n) =>
      withRoot(n.host, n.port, async (c) => {
        // Only when needed: RESET MASTER can block for seconds waiting on an InnoDB checkpoint.
        const [pos] = await c.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
        if (String(pos[0]?.pos ?? '') !== '') await c.query('RESET MASTER');
        if (n.role === 'primary') {
          await c.query('SET SESSION sql_log_bin = 0');
          await c.query('CREATE USER ?@? IDENTIFIED BY ?', [REPL_USER, s.replUserHost, s.password]);
          await c.query('GRANT REPLICATION SLAVE ON *.* TO ?@?', [REPL_USER, s.replUserHost]);
          await c.query('SET SESSION sql_log_bin = 1');
        }
      }),
    ),
  );
  verbose(`RESET MASTER + repl users in ${Date.now() - t0} ms`);
  const replicas = s.nodes.filter((n) => n.role === 'replica');
  await Promise.all(
    replicas.map((n) =>
      withRoot(n.host, n.port, async (c) => {
        if (!n.primary) throw new SandboxError(`internal: replica ${n.name} has no primary`);
        const m = s.masterAddress(n.primary);
        await c.query(
          'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, ' +
            'MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1',
          [m.host, m.port, REPL_USER, s.password],
        );
        await c.query('START SLAVE');
        verbose(`${n.name}: CHANGE MASTER + START SLAVE at ${Date.now() - t0} ms`);
        await waitReplicating(c, n.name, timeoutMs);
        verbose(`${n.name} replicating from ${n.primary} (${m.host}:${m.port}) at ${Date.now() - t0} ms`);
      }),
    ),
  );
}

export interface SlaveStatus {
  ioRunning: string;
  sqlRunning: string;
  lastIoError: string;
  lastSqlError: string;
}

export async function slaveStatus(c: Connection): Promise<SlaveStatus | undefined> {
  const [rows] = await c.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  const r = rows[0];
  if (!r) return undefined;
  return {
    ioRunning: String(r.Slave_IO_Running),
    sqlRunning: String(r.Slave_SQL_Running),
    lastIoError: String(r.Last_IO_Error ?? ''),
    lastSqlError: String(r.Last_SQL_Error ?? ''),
  };
}

/** Wait until Slave_IO_Running and Slave_SQL_Running are both Yes. */
export async function waitReplicating(c: Connection, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await slaveStatus(c);
    if (st && st.ioRunning === 'Yes' && st.sqlRunning === 'Yes') return;
    if (Date.now() > deadline) {
      throw new SandboxError(
        `sandbox replica ${name} is not replicating after ${timeoutMs} ms: ` +
          (st
            ? `Slave_IO_Running=${st.ioRunning} Slave_SQL_Running=${st.sqlRunning} ` +
              `Last_IO_Error=${JSON.stringify(st.lastIoError)} Last_SQL_Error=${JSON.stringify(st.lastSqlError)}`
            : 'no slave status'),
      );
    }
    await sleep(50);
  }
}
