import type { NodePool } from '../pool/node-pool.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import { PacketTooLargeError } from './row-writes.js';

/** A flush waits at most this long for a row lock (a row held by an in-doubt XA branch must not stall the shard). */
export const FLUSH_LOCK_WAIT_SEC = 1;

/**
 * Runs a flush's `work` on one connection of the shard's primary with a short lock wait, restored
 * afterwards. A connection the server dropped (1153, a packet over `max_allowed_packet`) is marked
 * broken, so the pool replaces it instead of restoring anything on it.
 */
export async function onFlushConnection<T>(primary: NodePool, work: (conn: PooledConnection) => Promise<T>): Promise<T> {
  return primary.use('write_behind_flush', async (conn) => {
    await conn.text('SET @mxo_lock_wait = @@SESSION.innodb_lock_wait_timeout, SESSION innodb_lock_wait_timeout = ?', [FLUSH_LOCK_WAIT_SEC]);
    try {
      return await work(conn);
    } catch (error) {
      if (error instanceof PacketTooLargeError) conn.broken = true;
      throw error;
    } finally {
      if (!conn.broken) await conn.text('SET SESSION innodb_lock_wait_timeout = @mxo_lock_wait').catch(() => (conn.broken = true));
    }
  });
}
