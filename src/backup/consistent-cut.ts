import mysql from 'mysql2/promise';
import type { NodeAddress } from '../config/node-address.js';
import { MxoError } from '../errors.js';
import { parseRecoverRow, type XaRecoverRow } from '../twopc/xid.js';
import { connectionOptions } from '../pool/connection-options.js';

/** Every tier's primary held still at one moment, with its GTID position then. */
export interface HeldCut {
  positions: Map<string, string>;
  /** Lets writes go on again (idempotent). */
  release(): Promise<void>;
}

const ATTEMPTS = 50;

/**
 * A consistent cut across tiers: `FLUSH TABLES WITH READ LOCK` on every primary at once (commits
 * and XA PREPARE/COMMIT wait), then `XA RECOVER` on each. A two-phase transaction prepared on
 * some shard and not yet committed everywhere would be cut in half (a dump holds no prepared XA
 * state), so while any branch of ours is prepared the locks are let go and taken again a moment
 * later, when its coordinator has committed. Otherwise the positions are read and the cut is
 * held until the caller has started its snapshots: writes wait for milliseconds, not the dump.
 */
export async function holdConsistentCut(primaries: Array<{ tier: string; node: NodeAddress }>): Promise<HeldCut> {
  const conns = await Promise.all(
    primaries.map(({ node }) =>
      mysql.createConnection(connectionOptions(node, { database: node.database })),
    ),
  );
  const unlockAll = () => Promise.all(conns.map((c) => c.query('UNLOCK TABLES').catch(() => {})));
  const endAll = () => Promise.all(conns.map((c) => c.end().catch(() => c.destroy())));
  try {
    for (const c of conns) await c.query('SET SESSION lock_wait_timeout = 10');
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await Promise.all(conns.map((c) => c.query('FLUSH TABLES WITH READ LOCK')));
      const prepared = await Promise.all(
        conns.map(async (c) => ((await c.query('XA RECOVER'))[0] as XaRecoverRow[]).filter((r) => parseRecoverRow(r) !== undefined).length),
      );
      if (prepared.every((n) => n === 0)) {
        const positions = new Map<string, string>();
        for (const [i, c] of conns.entries()) {
          const [[row]] = (await c.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
          positions.set(primaries[i]!.tier, row.pos);
        }
        let released = false;
        return {
          positions,
          async release() {
            if (released) return;
            released = true;
            await unlockAll();
            await endAll();
          },
        };
      }
      await unlockAll();
      await new Promise((r) => setTimeout(r, 20 + attempt * 10));
    }
    throw new MxoError('BACKUP_FAILED', `no moment without a prepared XA branch in ${ATTEMPTS} attempts (run recover if one is stuck)`);
  } catch (error) {
    await unlockAll();
    await endAll();
    if (error instanceof MxoError) throw error;
    const e = error as { code?: string; sqlMessage?: string; message?: string };
    throw new MxoError('BACKUP_FAILED', `cannot hold a consistent cut: ${e.code ?? 'error'}: ${e.sqlMessage ?? e.message}`, {
      cause: error,
    });
  }
}
