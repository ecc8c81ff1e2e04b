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
 */
export async function resolveDecision(pool: NodePool, gtrid: string, by: string): Promise<Decision> {
  return pool.use('twopc_fence', async (conn) => {
    await conn.exec(
      "INSERT IGNORE INTO twopc_decisions (gtrid, decision, operation) VALUES (?, 'abort', ?)",
      [gtrid, `fence:${by}`.slice(0, 32)],
    );
    const rows = await conn.rows<{ decision: Decision }>('SELECT decision FROM twopc_decisions WHERE gtrid = ?', [gtrid]);
    if (!rows[0]) throw new Error(`decision record for ${gtrid} vanished`);
    return rows[0].decision;
  });
}
