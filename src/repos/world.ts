import { z } from 'zod';
import { floatColumn } from '../sql/column-limits.js';
import { parseInput, schemaFor } from '../validate.js';
import type { Position } from '../writebehind/write-behind-buffer.js';
import type { RepoContext } from './context.js';

// FLOAT columns: finite and within FLOAT range, or the flush would refuse the row.
const finite = floatColumn;
const positionInput = schemaFor<Position>()(
  z
    .object({
      x: finite,
      y: finite,
      z: finite,
      rotation: z.object({ x: finite, y: finite, z: finite, w: finite }).strict().optional(),
    })
    .strict(),
);

/**
 * High-frequency world state: positions go through the shard's write-behind buffer (coalesced,
 * last position per character wins, flushed in multi-row statements every
 * `writeBehind.flushIntervalMs` and on `flush()`), instead of one statement per update.
 */
export class World {
  constructor(private readonly ctx: RepoContext) {}

  /** Records a character's position; resolves once buffered (back-pressure when the buffer is full). */
  async updatePosition(characterId: number, position: Position): Promise<void> {
    const cid = parseInput(z.number().int().positive(), characterId, 'character id');
    const data = parseInput(positionInput, position, 'position');
    const route = await this.ctx.router.directory.resolve(cid);
    await this.ctx.writeBehind(route.shard).setPosition(cid, data);
  }

  /** Writes every buffered position and log row now (logout, district change, shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.ctx.router.topology.shards.map((s) => this.ctx.writeBehind(s.key).flush()));
  }
}
