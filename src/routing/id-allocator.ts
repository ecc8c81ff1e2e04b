import type { NodePool } from '../pool/node-pool.js';

/**
 * Cluster-unique ids (item_id, trade_id) from the global `id_sequences` table, handed out in
 * cached blocks: one round trip to global per `blockSize` ids. Ids never repeat; ids of a block
 * not used before the process exits are skipped, never reissued.
 */
export class IdAllocator {
  private readonly blocks = new Map<string, { next: number; end: number }>();
  private readonly refills = new Map<string, Promise<void>>();

  /** `global`: the global primary, or how to find it now (a failover replaces it). */
  constructor(private readonly globalOf: NodePool | (() => NodePool), private readonly blockSize = 100) {}

  private get global(): NodePool {
    return typeof this.globalOf === 'function' ? this.globalOf() : this.globalOf;
  }

  async next(sequence: 'item_id' | 'trade_id' | 'world_id'): Promise<number> {
    for (;;) {
      const block = this.blocks.get(sequence);
      if (block && block.next < block.end) return block.next++;
      let refill = this.refills.get(sequence);
      if (!refill) {
        refill = this.refill(sequence).finally(() => this.refills.delete(sequence));
        this.refills.set(sequence, refill);
      }
      await refill;
    }
  }

  private async refill(sequence: string): Promise<void> {
    const end = await this.global.use('id_block', async (conn) => {
      // LAST_INSERT_ID(expr) makes the new end come back in the OK packet: one round trip.
      const header = await conn.exec(
        'UPDATE id_sequences SET next_value = LAST_INSERT_ID(next_value + ?) WHERE sequence_name = ?',
        [this.blockSize, sequence],
      );
      if (header.affectedRows !== 1) throw new Error(`id sequence ${sequence} is missing; run migrate()`);
      return Number(header.insertId);
    });
    this.blocks.set(sequence, { next: end - this.blockSize, end });
  }
}
