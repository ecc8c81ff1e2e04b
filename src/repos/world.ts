import { z } from 'zod';
import { PresenceLostError } from '../errors.js';
import { floatColumn } from '../sql/column-limits.js';
import { FENCED_POSITIONS, presenceTokenOf } from '../sql/fenced-positions.js';
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

/** Options of {@link World.updatePosition}. */
export interface PositionOptions {
  /** The presence claim's token: the write is refused (PresenceLostError) once the claim was taken over or released. */
  fencingToken?: number;
}
const positionOptions = schemaFor<PositionOptions>()(z.object({ fencingToken: z.number().int().positive().optional() }).strict());

/**
 * High-frequency world state: positions go through the shard's write-behind buffer (coalesced,
 * last position per character wins, flushed in multi-row statements every
 * `writeBehind.flushIntervalMs` and on `flush()`), instead of one statement per update.
 */
export class World {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Records a character's position; resolves once buffered (back-pressure when the buffer is full).
   * With `fencingToken` (the server's presence claim) a stale token throws PresenceLostError now,
   * and the buffered write lands only if the token is still the character's when it is flushed.
   * Use one form per character: fenced and unfenced positions are buffered apart.
   *
   * @example
   * await db.world.updatePosition(characterId, { x: 10, y: 0, z: -4 }, { fencingToken: claim.fencingToken });
   */
  async updatePosition(characterId: number, position: Position, options: PositionOptions = {}): Promise<void> {
    const cid = parseInput(z.number().int().positive(), characterId, 'character id');
    const data = parseInput(positionInput, position, 'position');
    const { fencingToken } = parseInput(positionOptions, options, 'options');
    if (fencingToken === undefined) {
      const route = await this.ctx.router.directory.resolve(cid);
      await this.ctx.writeBehind(route.shard).setPosition(cid, data);
      return;
    }
    // One primary-key read on the character's shard: the token there changes with every claim.
    const shard = await this.ctx.router.readCharacter('position_fence', cid, 'strong', async (conn, route) => {
      const current = await presenceTokenOf(conn, cid);
      if (current === undefined) return undefined;
      if (current !== fencingToken) throw new PresenceLostError(cid, fencingToken);
      return route.shard;
    });
    await this.ctx.writeBehind(shard).coalesce(FENCED_POSITIONS, String(cid), { ...data, fencingToken });
  }

  /** Writes every buffered position and log row now (logout, district change, shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.ctx.router.topology.shards.map((s) => this.ctx.writeBehind(s.key).flush()));
  }
}
