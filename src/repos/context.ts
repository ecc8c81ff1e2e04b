import { z } from 'zod';
import { StaleRouteError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Directory, CharacterRoute } from '../routing/directory.js';
import type { IdAllocator } from '../routing/id-allocator.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import type { Consistency, ReadRouter } from '../routing/read-router.js';
import type { SessionState } from '../routing/session.js';
import type { Topology } from '../routing/topology.js';
import type { Coordinator, CommitResult } from '../twopc/coordinator.js';
import { parseInput } from '../validate.js';
import type { WriteBehindBuffer } from '../writebehind/write-behind-buffer.js';

/** What every repository needs: the cluster's machinery plus the caller's session. */
export interface RepoContext {
  topology: Topology;
  directory: Directory;
  ids: IdAllocator;
  coordinator: Coordinator;
  reads: ReadRouter;
  metrics: Metrics;
  session: SessionState;
  /** The write-behind buffer of a shard (positions, log rows). */
  writeBehind: (shard: string) => WriteBehindBuffer;
}

/** Reads the `consistency` option of a read call (validated like any input), with its default. */
export function consistencyOf(options: { consistency?: Consistency }, fallback: Consistency): Consistency {
  if (options.consistency === undefined) return fallback;
  return parseInput(CONSISTENCY, options.consistency, 'consistency');
}

// Built once: this runs on every read.
const CONSISTENCY = z.enum(['strong', 'session', 'eventual']);

/** Re-resolutions after a stale route before giving up (a character moving back and forth). */
export const STALE_ROUTE_RETRIES = 6;

/** A short, growing pause so a re-resolution does not land in the middle of the next move. */
export function staleRouteBackoff(attempt: number): Promise<void> {
  return attempt === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
}

/**
 * Runs `fn` with the character's route; when `fn` finds the character gone from the shard the
 * route named (it moved), the cached route is dropped and `fn` runs again on the fresh one.
 */
export async function withCharacterRoute<T>(
  ctx: RepoContext,
  characterId: number,
  fn: (route: CharacterRoute) => Promise<T>,
): Promise<T> {
  let route = await ctx.directory.resolve(characterId);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(route);
    } catch (error) {
      if (!(error instanceof StaleRouteError) || attempt >= STALE_ROUTE_RETRIES) throw error;
      ctx.directory.invalidate(characterId);
      await staleRouteBackoff(attempt);
      route = await ctx.directory.resolve(characterId, { fresh: true });
    }
  }
}

/** Records the GTIDs of a commit in the caller's session, for read-your-writes. */
export function noteCommit<T>(ctx: RepoContext, result: CommitResult<T>): T {
  for (const [shard, gtid] of result.gtids) ctx.session.noteWrite(shard, gtid);
  return result.value;
}

/** Backquotes an identifier taken from the library's own schema (never from user input). */
export function ident(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unsafe identifier ${name}`);
  return `\`${name}\``;
}

/**
 * Reads from the shard a route names. `fn` must return `undefined` when the character's own row
 * is not there (its query joins or selects `characters`, so the read itself proves where the
 * character lives, in one round trip). A replica that lacks the row (lag) is retried on the
 * primary; a primary that lacks it means the route is stale, which {@link withCharacterRoute}
 * handles.
 */
export async function readOnCharacterShard<T>(
  ctx: RepoContext,
  route: CharacterRoute,
  consistency: Consistency,
  operation: string,
  fn: (conn: PooledConnection) => Promise<T | undefined>,
): Promise<T> {
  const attempt = (level: Consistency) => ctx.reads.read(ctx.topology.nodes(route.shard), level, ctx.session, operation, fn);
  const found = (await attempt(consistency)) ?? (consistency === 'strong' ? undefined : await attempt('strong'));
  if (found === undefined) throw new StaleRouteError(route.characterId, route.shard);
  return found;
}
