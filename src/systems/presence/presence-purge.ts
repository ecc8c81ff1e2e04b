import type { PooledConnection } from '../../pool/pooled-connection.js';

/** How long a used or lapsed handoff ticket is kept (for audit) before maintenance deletes it. */
export const HANDOFF_RETENTION_HOURS = 24;
/** Rows deleted per statement: a long backlog goes over several runs, never one long lock. */
const BATCH = 10_000;

/**
 * Deletes, on global, handoff tickets consumed or expired more than
 * {@link HANDOFF_RETENTION_HOURS} ago, and name reservations that have lapsed (issue 23:
 * neither table was ever purged). Returns how many rows of each went.
 */
export async function purgePresenceLeftovers(global: PooledConnection): Promise<{ handoffs: number; reservations: number }> {
  const handoffs = await global.exec(
    `DELETE FROM presence_handoffs WHERE LEAST(COALESCE(consumed_at, expires_at), expires_at) < NOW(6) - INTERVAL ? HOUR LIMIT ${BATCH}`,
    [HANDOFF_RETENTION_HOURS],
  );
  const reservations = await global.exec(`DELETE FROM character_name_reservations WHERE expires_at < NOW(6) LIMIT ${BATCH}`);
  return { handoffs: handoffs.affectedRows, reservations: reservations.affectedRows };
}
