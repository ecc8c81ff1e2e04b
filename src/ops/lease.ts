import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { ConflictError, ShardUnavailableError } from '../errors.js';
import { isConnectionLost } from '../pool/mysql-errors.js';
import type { NodePool } from '../pool/node-pool.js';
import { connectionOptions } from '../pool/connection-options.js';

/**
 * Leases for periodic jobs that change shared state (replica repair, purges): one process of the
 * whole cluster runs such a job at a time. A lease is a MariaDB named lock (`GET_LOCK`) held on a
 * connection to the global primary that is kept for the job's duration; the server releases it
 * when that connection ends, so a process that dies (or loses the connection) never leaves a
 * lease behind. A job whose lease connection is lost sees `lease.signal` aborted and should stop
 * at its next step, since another process may then take the lease.
 */
export interface Lease {
  /** The lock name on the server (`mxo.<database>.<name>`). */
  readonly name: string;
  /** Aborted when the lease's connection is lost: the lease may no longer be held. */
  readonly signal: AbortSignal;
}

export interface LeaseOptions {
  /** How long to wait for a lease another process holds (default 0: do not wait). */
  waitMs?: number;
}

/** Runs `fn` under the lease if it is free (or frees up within `waitMs`); otherwise does nothing. */
export async function tryLease<T>(
  pool: NodePool,
  name: string,
  fn: (lease: Lease) => Promise<T>,
  options: LeaseOptions = {},
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  const lockName = leaseName(pool, name);
  // Its own connection, outside the pool: waiting holders must not take the pool's slots (the
  // job itself needs them), and ending it is what releases the lease.
  const conn = await connectTo(pool);
  const lost = new AbortController();
  const onLost = () => lost.abort(new Error(`lease ${lockName} lost: its connection ended`));
  conn.on('end', onLost);
  conn.on('error', onLost);
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lockName, Math.ceil((options.waitMs ?? 0) / 1000)]);
    if (Number(rows[0]?.got) !== 1) return { acquired: false };
    return { acquired: true, value: await fn({ name: lockName, signal: lost.signal }) };
  } catch (error) {
    if (isConnectionLost(error)) throw new ShardUnavailableError(pool.label, { cause: error });
    throw error;
  } finally {
    conn.off('end', onLost);
    conn.off('error', onLost);
    // Closing the session releases the lock (RELEASE_LOCK first, so it is free without delay).
    await conn.query('DO RELEASE_LOCK(?)', [lockName]).catch(() => {});
    await conn.end().catch(() => conn.destroy());
  }
}

/**
 * Runs `fn` under the lease, waiting up to `waitMs` (default 30 s) for another holder to finish;
 * throws ConflictError when it does not.
 */
export async function withLease<T>(pool: NodePool, name: string, fn: (lease: Lease) => Promise<T>, options: LeaseOptions = {}): Promise<T> {
  const waitMs = options.waitMs ?? 30_000;
  const result = await tryLease(pool, name, fn, { waitMs });
  if (!result.acquired) throw new ConflictError(`lease ${name}`, `another process held it for more than ${waitMs} ms`);
  return result.value;
}

/** Namespaced by database, so clusters sharing a server do not share leases; at most 64 characters. */
function leaseName(pool: NodePool, name: string): string {
  if (!/^[a-z][a-z0-9_-]{0,39}$/.test(name)) throw new Error(`invalid lease name ${name}`);
  return `mxo.${pool.address.database}.${name}`.slice(0, 64);
}

async function connectTo(pool: NodePool): Promise<Connection> {
  try {
    const conn = await mysql.createConnection(connectionOptions(pool.address, { database: pool.address.database, connectTimeout: 5_000 }));
    conn.on('error', () => {});
    return conn;
  } catch (error) {
    throw new ShardUnavailableError(pool.label, { cause: error });
  }
}
