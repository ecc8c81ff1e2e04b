import { InvalidStateError, NotFoundError, OutcomeUnknownError } from '../errors.js';
import { ER_LOCK_WAIT_TIMEOUT, errnoOf } from '../pool/mysql-errors.js';
import type { PooledConnection } from '../pool/pooled-connection.js';
import type { Directory } from '../routing/directory.js';
import { GLOBAL, type Topology } from '../routing/topology.js';
import { deleteDistrictRows, insertDistrictRows, lockDistrictCharacters, readDistrictRows } from './district-rows.js';
import type { Coordinator } from '../twopc/coordinator.js';
import type { WriteBehindBuffer } from '../writebehind/write-behind-buffer.js';
import { tryLease, withLease } from './lease.js';
import { inList } from '../pool/in-list.js';

/** What a district move needs from the cluster. */
export interface DistrictMoveDeps {
  topology: Topology;
  coordinator: Coordinator;
  directory: Directory;
  writeBehind: (shard: string) => WriteBehindBuffer;
  /** Resolves in-doubt two-phase-commit branches (a crashed mover's), as `db.recover()`. */
  recover: () => Promise<unknown>;
}

/** The outcome of {@link moveDistrict}. */
export interface DistrictMoveResult {
  /** The journal row (`district_moves`); 0 when nothing had to move. */
  moveId: number;
  districtId: number;
  from: string;
  to: string;
  /** False when the district already lived on `to`. */
  moved: boolean;
  characters: number;
  rows: number;
  /** From taking the district's fence row (writes for it wait from then) to the commit. */
  fenceMs: number;
  totalMs: number;
}

/** A move journal row, as `status` and {@link recoverMoves} report it. */
export interface DistrictMoveRecord {
  moveId: number;
  districtId: number;
  from: string;
  to: string;
  state: 'copying' | 'done' | 'rolled_back';
  startedAt: Date;
  finishedAt: Date | null;
  fenceMs: number | null;
  error: string | null;
}

/** One mover at a time in the whole cluster (a GET_LOCK lease on global, freed if the mover dies). */
const LEASE = 'district-move';

/**
 * Moves a district and everything in it to another shard (docs/design.md, "District placement in
 * the cluster"). Journalled on global, then one two-phase commit over source, target and global
 * (decided on global) that: takes the district's fence row on the source FOR UPDATE (every write
 * routed to the district waits from here), locks the district's characters, copies their rows
 * and the district's world content to the target, deletes them from the source, marks the
 * source fence 'moved' and the target's 'owned', repoints the characters' directory rows, flips
 * `district_placement` (version + 1) and marks the journal row 'done'. A crash anywhere leaves
 * either the whole move or nothing once recovery settles the transaction; see {@link recoverMoves}.
 */
export async function moveDistrict(deps: DistrictMoveDeps, districtId: number, to: string): Promise<DistrictMoveResult> {
  const started = performance.now();
  const { topology } = deps;
  if (!topology.has(to) || to === GLOBAL) throw new NotFoundError('shard', to);
  return withLease(
    topology.global.primary,
    LEASE,
    async () => {
      // A crashed earlier move of this district is settled first (needs its in-doubt branches gone).
      await settleMoves(deps, districtId);
      await topology.refreshPlacement();
      const from = topology.shardOfDistrict(districtId);
      if (from === to) return { moveId: 0, districtId, from, to, moved: false, characters: 0, rows: 0, fenceMs: 0, totalMs: 0 };
      const global = topology.global.primary;
      const moveId = await global.use('district_move_journal', async (c) =>
        Number(
          (await c.exec('INSERT INTO district_moves (district_id, from_shard, to_shard) VALUES (?, ?, ?)', [districtId, from, to]))
            .insertId,
        ),
      );
      try {
        // The source's fence row must exist to be held; inserting it is harmless where it does.
        await topology
          .primary(from)
          .use('district_fence_seed', (c) =>
            c.exec("INSERT IGNORE INTO district_fences (district_id, state) VALUES (?, 'owned')", [districtId]),
          );
        // This process's buffered positions land before the rows are read (other processes' see docs/operating.md).
        await deps.writeBehind(from).flush();
        // Until the rows are gone from the source, its buffer must not write a position there
        // (a flush blocked by the move's locks would match no row once the move commits).
        const resume = await deps.writeBehind(from).pause();
        let fencedAt = 0;
        const committed = deps.coordinator.run('district_move', [from, to, GLOBAL], GLOBAL, async (tx) => {
          const source = await tx.branch(from);
          const [fence] = await source.rows<{ state: string }>('SELECT state FROM district_fences WHERE district_id = ? FOR UPDATE', [
            districtId,
          ]);
          fencedAt = performance.now();
          if (fence?.state !== 'owned') throw new InvalidStateError('district fence', districtId, fence?.state ?? 'missing');
          const globalConn = await tx.branch(GLOBAL);
          const [placed] = await globalConn.rows<{ shard_name: string }>(
            'SELECT shard_name FROM district_placement WHERE district_id = ? FOR UPDATE',
            [districtId],
          );
          if (placed && placed.shard_name !== from) throw new InvalidStateError('district placement', districtId, placed.shard_name);
          const ids = await lockDistrictCharacters(source, districtId);
          const data = await readDistrictRows(source, districtId, ids);
          const target = await tx.branch(to);
          const [targetFence] = await target.rows<{ state: string }>('SELECT state FROM district_fences WHERE district_id = ? FOR UPDATE', [
            districtId,
          ]);
          if (targetFence?.state === 'owned') throw new InvalidStateError('district fence', districtId, `owned on ${to}`);
          const rows = await insertDistrictRows(target, data);
          await deleteDistrictRows(source, districtId, ids);
          const [left] = await source.rows<{ n: number }>('SELECT COUNT(*) AS n FROM characters WHERE district_id = ?', [districtId]);
          if (Number(left!.n) !== 0) throw new InvalidStateError('district', districtId, 'characters arrived past the fence');
          await source.exec("UPDATE district_fences SET state = 'moved', version = version + 1 WHERE district_id = ?", [districtId]);
          await target.exec(
            `INSERT INTO district_fences (district_id, state) VALUES (?, 'owned')
             ON DUPLICATE KEY UPDATE state = 'owned', version = version + 1`,
            [districtId],
          );
          await repointDirectory(globalConn, ids, from, to);
          await globalConn.exec(
            `INSERT INTO district_placement (district_id, shard_name) VALUES (?, ?)
             ON DUPLICATE KEY UPDATE shard_name = VALUES(shard_name), version = version + 1`,
            [districtId, to],
          );
          await globalConn.exec(
            "UPDATE district_moves SET state = 'done', finished_at = NOW(6), characters_moved = ?, rows_moved = ? WHERE move_id = ?",
            [ids.length, rows, moveId],
          );
          return { ids, rows };
        });
        const { value } = await committed.finally(async () => {
          // Same tick as the invalidation: positions buffered for the source from here go to the target.
          const ids = await committed.then((r) => r.value.ids).catch(() => [] as number[]);
          for (const id of ids) deps.directory.invalidate(id);
          // Each keeps its place in the order: one older than a position sent since is dropped.
          deps.writeBehind(to).carry(deps.writeBehind(from).takePositions(ids));
          resume();
        });
        const fenceMs = Math.round(performance.now() - fencedAt);
        await global.use('district_move_journal', (c) =>
          c.exec('UPDATE district_moves SET fence_ms = ? WHERE move_id = ?', [fenceMs, moveId]),
        );
        await topology.refreshPlacement();
        const totalMs = Math.round(performance.now() - started);
        return { moveId, districtId, from, to, moved: true, characters: value.ids.length, rows: value.rows, fenceMs, totalMs };
      } catch (error) {
        // Ambiguous commits are left to recovery; anything else rolled the whole move back.
        if (!(error instanceof OutcomeUnknownError)) await markRolledBack(global, moveId, error).catch(() => {});
        throw error;
      }
    },
    { waitMs: 60_000 },
  );
}

/**
 * Settles journal rows a crashed mover left 'copying' (all districts, or one): first resolves
 * in-doubt branches, then marks each 'rolled_back' unless its commit happened (the commit itself
 * sets 'done'). A move whose branches are still in doubt (within the recovery grace period)
 * stays 'copying' and is reported. Skipped while a mover holds the lease.
 */
export async function recoverMoves(deps: DistrictMoveDeps): Promise<DistrictMoveRecord[]> {
  const result = await tryLease(deps.topology.global.primary, LEASE, () => settleMoves(deps));
  await deps.topology.refreshPlacement();
  return result.acquired ? result.value : listMoves(deps.topology, { unfinished: true });
}

async function settleMoves(deps: DistrictMoveDeps, districtId?: number): Promise<DistrictMoveRecord[]> {
  const mine = (m: DistrictMoveRecord) => districtId === undefined || m.districtId === districtId;
  const open = (await listMoves(deps.topology, { unfinished: true })).filter(mine);
  if (open.length === 0) return [];
  await deps.recover();
  for (const move of open) {
    // A prepared branch may still commit: it holds the fence rows until recovery decides it.
    if (await fenceHeld(deps.topology, move)) continue;
    await markRolledBack(deps.topology.global.primary, move.moveId, new Error('the mover stopped before its commit'));
  }
  const still = (await listMoves(deps.topology, { unfinished: true })).filter(mine);
  if (districtId !== undefined && still.length > 0)
    throw new InvalidStateError('district move', still[0]!.moveId, 'in doubt until recovery settles its transaction');
  return listMoves(deps.topology, { ids: open.map((m) => m.moveId) });
}

/**
 * True while the move's fence row stays locked on its source or target for seconds: a branch of
 * the move still prepared (writers hold it in share mode for milliseconds only).
 */
async function fenceHeld(topology: Topology, move: DistrictMoveRecord): Promise<boolean> {
  for (const shard of [move.from, move.to]) {
    if (!topology.has(shard)) continue;
    try {
      await topology
        .primary(shard)
        .use('district_fence_probe', (c) =>
          c.rows('SET STATEMENT innodb_lock_wait_timeout = 3 FOR SELECT state FROM district_fences WHERE district_id = ? FOR UPDATE', [
            move.districtId,
          ]),
        );
    } catch (error) {
      if (errnoOf(error) === ER_LOCK_WAIT_TIMEOUT) return true;
      throw error;
    }
  }
  return false;
}

/** 'copying' -> 'rolled_back', only while the placement still names the source (else it committed). */
async function markRolledBack(global: Topology['global']['primary'], moveId: number, error: unknown): Promise<void> {
  await global.use('district_move_journal', (c) =>
    c.exec(
      `UPDATE district_moves m LEFT JOIN district_placement p ON p.district_id = m.district_id
          SET m.state = 'rolled_back', m.finished_at = NOW(6), m.error_message = LEFT(?, 512)
        WHERE m.move_id = ? AND m.state = 'copying' AND (p.shard_name IS NULL OR p.shard_name = m.from_shard)`,
      [(error as Error)?.message ?? String(error), moveId],
    ),
  );
}

/** Journal rows, newest first: unfinished ones, given ids, or the latest 50. */
export async function listMoves(topology: Topology, filter: { unfinished?: boolean; ids?: number[] } = {}): Promise<DistrictMoveRecord[]> {
  const where = filter.ids
    ? filter.ids.length === 0
      ? 'FALSE'
      : `move_id IN (${filter.ids.map(() => '?').join(', ')})`
    : filter.unfinished
      ? "state = 'copying'"
      : 'TRUE';
  const rows = await topology.global.primary.use('district_moves_list', (c) =>
    c.rows<Record<string, unknown>>(`SELECT * FROM district_moves WHERE ${where} ORDER BY move_id DESC LIMIT 50`, filter.ids ?? []),
  );
  return rows.map((r) => ({
    moveId: Number(r.move_id),
    districtId: Number(r.district_id),
    from: String(r.from_shard),
    to: String(r.to_shard),
    state: r.state as DistrictMoveRecord['state'],
    startedAt: r.started_at as Date,
    finishedAt: (r.finished_at as Date | null) ?? null,
    fenceMs: r.fence_ms === null ? null : Number(r.fence_ms),
    error: (r.error_message as string | null) ?? null,
  }));
}

/** Points the moved characters' directory rows at the new shard; every one must still name the old. */
async function repointDirectory(conn: PooledConnection, ids: number[], from: string, to: string): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const list = inList(chunk);
    const header = await conn.exec(
      `UPDATE character_directory SET shard_name = ?, route_version = route_version + 1
        WHERE shard_name = ? AND character_id IN ${list.sql}`,
      [to, from, ...list.params],
    );
    if (header.affectedRows !== chunk.length) throw new InvalidStateError('character directory', chunk[0]!, `not all on ${from}`);
  }
}
