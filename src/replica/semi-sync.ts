import type { PooledConnection } from '../pool/pooled-connection.js';

/** A primary's semi-synchronous replication, as the server reports it. */
export interface SemiSyncState {
  /** `@@rpl_semi_sync_master_enabled`: configured to wait for a replica's ack. */
  enabled: boolean;
  /**
   * `Rpl_semi_sync_master_status`: waiting for acks right now. False while enabled means the
   * primary fell back to asynchronous replication (no ack within `rpl_semi_sync_master_timeout`):
   * commits are acknowledged that no replica may have.
   */
  active: boolean;
  /** `Rpl_semi_sync_master_clients`: replicas connected with semi-sync on. */
  clients: number;
}

/** Reads the primary's semi-sync state (any account may: global status and variables). */
export async function readSemiSync(conn: PooledConnection): Promise<SemiSyncState> {
  const [vars] = await conn.rows<{ enabled: number | string }>('SELECT @@GLOBAL.rpl_semi_sync_master_enabled AS enabled');
  const status = new Map(
    (
      await conn.rows<{ Variable_name: string; Value: string }>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')",
      )
    ).map((r) => [r.Variable_name.toLowerCase(), String(r.Value)]),
  );
  return {
    enabled: Number(vars?.enabled) === 1,
    active: status.get('rpl_semi_sync_master_status') === 'ON',
    clients: Number(status.get('rpl_semi_sync_master_clients') ?? 0),
  };
}
