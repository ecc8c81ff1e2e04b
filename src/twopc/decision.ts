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
      if (waiting) await endBlockers(pool, conn.threadId);
    }
    await fence;
    const rows = await conn.rows<{ decision: Decision }>('SELECT decision FROM twopc_decisions WHERE gtrid = ?', [gtrid]);
    if (!rows[0]) throw new Error(`decision record for ${gtrid} vanished`);
    return rows[0].decision;
  });
}

/** Ends the sessions whose transactions hold the locks `threadId` is waiting for. */
async function endBlockers(pool: NodePool, threadId: number): Promise<void> {
  await pool
    .use('twopc_takeover', async (probe) => {
      const blockers = await probe.rows<{ thread: number }>(
        `SELECT DISTINCT b.trx_mysql_thread_id AS thread
           FROM information_schema.INNODB_LOCK_WAITS w
           JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
           JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
          WHERE r.trx_mysql_thread_id = ?`,
        [threadId],
      );
      for (const { thread } of blockers) await probe.text('KILL CONNECTION ?', [Number(thread)]).catch(() => {});
    })
    .catch(() => {});
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
