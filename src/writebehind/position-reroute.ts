import { NotFoundError } from '../errors.js';
import type { Directory } from '../routing/directory.js';
import type { BufferedPosition, PositionReroute } from './types.js';
import type { WriteBehindBuffer } from './write-behind-buffer.js';

/**
 * The re-route of positions whose character's row left a shard before the flush: the character's
 * route is read again from global (the cached one is stale) and the position is carried to that
 * shard's buffer, keeping its place in the order. A deleted character's position is dropped; one
 * whose route still names the shard it was not found on (never expected) too, rather than loop.
 * Positions whose route cannot be read now (global unreachable) are returned, to try again later.
 */
export function rerouteByDirectory(directory: Directory, buffer: (shard: string) => WriteBehindBuffer | undefined): PositionReroute {
  return async (from, gone) => {
    const left = new Map<number, BufferedPosition>();
    for (const [id, entry] of gone) {
      directory.invalidate(id);
      try {
        const route = await directory.resolve(id, { fresh: true });
        if (route.shard !== from) buffer(route.shard)?.carry(new Map([[id, entry]]));
      } catch (error) {
        if (!(error instanceof NotFoundError)) left.set(id, entry);
      }
    }
    return left;
  };
}
