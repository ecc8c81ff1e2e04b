import type { NodePool } from '../pool/node-pool.js';

export type Decision = 'commit' | 'abort';

/** Reads the decision recorded for `gtrid` on its decision node, if any. */
export async function readDecision(pool: NodePool, gtrid: string): Promise<Decision | undefined> {
  return pool.use('twopc_read_decision', async (conn) => {
    const rows = await conn.rows<{ decision: Decision }>('SELECT decision FROM twopc_decisions WHERE gtrid = ?', [gtrid]);
    return rows[0]?.decision;
  });
}

/**
 * Settles a transaction whose decision is missing: inserts an abort record under the same key
 * the coordinator's commit record uses. The primary key is the fence: exactly one of the two
 * inserts succeeds, so whatever is recorded afterwards is final.
 *
 * With `takeOverStale`, a fence that waits on a lock is taken to be waiting on a coordinator
 * frozen between its commit-record INSERT and its COMMIT (the only holder of that row): that
 * session is ended, its uncommitted record rolls back, and the fence wins. Recovery asks for this
 * only for transactions past their grace period.
 */
export async function resolveDecision(
  pool: NodePool,
  gtrid: string,
  by: string,
  options: { takeOverStale?: boolean } = {},
): Promise<Decision> {
  return pool.use('twopc_fence', async (conn) => {
    const fence = conn.exec("INSERT IGNORE INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'abort', ?)", [
      gtrid,
      `fence:${by}`.slice(0, 32),
    ]);
    if (options.takeOverStale) {
      const waiting = await Promise.race([fence.then(() => false), sleep(300).then(() => true)]);
      if (waiting) await endBlockers(pool, gtrid);
    }
    await fence;
    const rows = await conn.rows<{ decision: Decision }>('SELECT decision FROM twopc_decisions WHERE gtrid = ?', [gtrid]);
    if (!rows[0]) throw new Error(`decision record for ${gtrid} vanished`);
    return rows[0].decision;
  });
}

/**
 * Ends the session holding the uncommitted commit record of `gtrid`: the record names its
 * session (holder_thread), read without waiting (READ UNCOMMITTED). Ending a session of the same
 * account needs no privilege; the application account has no PROCESS, so the lock tables of
 * information_schema are not used. Only a session this account can see is ended.
 */
async function endBlockers(pool: NodePool, gtrid: string): Promise<void> {
  await pool
    .use('twopc_takeover', async (probe) => {
      probe.broken = true; // the isolation level below must not leak into the pool
      await probe.text('SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED');
      const [row] = await probe.rows<{ holder: number | string | null }>(
        'SELECT holder_thread AS holder FROM twopc_decisions WHERE gtrid = ?',
        [gtrid],
      );
      const holder = Number(row?.holder ?? 0);
      if (!holder) return;
      const visible = await probe.rows('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [holder]);
      if (visible.length > 0) await probe.text('KILL CONNECTION ?', [holder]).catch(() => {});
    })
    .catch(() => {});
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
