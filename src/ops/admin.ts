import { z } from 'zod';
import type { PlacementRefresh } from '../routing/placement-refresh.js';
import type { ShardNodes } from '../routing/topology.js';
import { parseInput } from '../validate.js';
import { addShard, type AddShardInput, type AddShardResult } from './add-shard.js';
import { failover, type FailoverOptions, type FailoverResult } from './failover.js';
import {
  listMoves,
  moveDistrict,
  recoverMoves,
  type DistrictMoveDeps,
  type DistrictMoveRecord,
  type DistrictMoveResult,
} from './district-move.js';

/** How often every process re-reads the district placement from global (besides on a fence). */
export { PLACEMENT_REFRESH_MS } from '../routing/placement-refresh.js';

/** What {@link Admin} needs beyond a district mover's needs. */
export interface AdminDeps extends DistrictMoveDeps {
  env: NodeJS.ProcessEnv;
  /** Called when this process adds a shard (its write-behind buffer). */
  onShardAdded: (nodes: ShardNodes) => void;
  /** This process's periodic placement refresh. */
  refresh: PlacementRefresh;
}

const districtId = z.number().int().min(0).max(2_147_483_647);
const shardName = z.string().regex(/^[a-z][a-z0-9_]{0,30}$/);
const failoverOptions = z
  .object({
    to: z.string().min(1).max(300).optional(),
    force: z.boolean().optional(),
    catchUpTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
    semiSyncTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
  })
  .strict();

/**
 * Operator actions that change the cluster's shape (`db.admin`): live district moves and new
 * shards. Every process keeps its district placement fresh from global (on a timer, and at once
 * when a write finds a district's fence moved).
 */
export class Admin {
  constructor(private readonly deps: AdminDeps) {}

  /**
   * Moves a district, its characters with every row they own and its world content, to another
   * shard while players keep playing; writes for the district wait during the final step only.
   * @example
   * const { fenceMs, characters } = await db.admin.moveDistrict(2, 'beta');
   */
  async moveDistrict(district: number, toShard: string): Promise<DistrictMoveResult> {
    const d = parseInput(districtId, district, 'district id');
    const to = parseInput(shardName, toShard, 'shard');
    return moveDistrict(this.deps, d, to);
  }

  /**
   * Settles moves a crashed mover left unfinished (see src/ops/district-move.ts); returns them.
   * @example
   * const settled = await db.admin.recoverMoves();
   */
  async recoverMoves(): Promise<DistrictMoveRecord[]> {
    return recoverMoves(this.deps);
  }

  /**
   * The latest district moves (newest first), or only unfinished ones.
   * @example
   * const inProgress = await db.admin.moves({ unfinished: true });
   */
  async moves(options: { unfinished?: boolean } = {}): Promise<DistrictMoveRecord[]> {
    return listMoves(this.deps.topology, { unfinished: options.unfinished === true });
  }

  /**
   * Adds an empty, migrated shard with the reference data, ready to receive districts.
   * @example
   * await db.admin.addShard({ name: 'gamma', primary: 'mysql://mxo@10.0.0.7:3306/mxo_shard' });
   */
  async addShard(shard: AddShardInput): Promise<AddShardResult> {
    return addShard(this.deps.topology, shard, this.deps.env, this.deps.onShardAdded);
  }

  /**
   * Promotes a replica of `shard` (or `global`) to primary after its primary is lost (or to replace it): the
   * replica that applied the most by GTID, or `to`; fences the old primary if it answers (refuses
   * when it cannot be fenced or told from dead, unless `force`), repoints the other replicas, and
   * records the new nodes on global, versioned: every process follows without a restart. Run it
   * with an administrator's config (SUPER-class rights on the shard's nodes). See src/ops/failover.ts.
   * @example
   * const { promoted, oldPrimary } = await db.admin.failover('alpha');
   */
  async failover(shard: string, options: FailoverOptions = {}): Promise<FailoverResult> {
    // One object, so a bad value is named by its field (`shard`, `to`, `force`, ...).
    const { shard: name, ...opts } = parseInput(failoverOptions.extend({ shard: shardName }), { ...options, shard }, 'failover');
    return failover(this.deps, name, opts);
  }

  /**
   * Re-reads where each shard's primary is (recorded failovers) from global now; true when this
   * process now follows a different primary or replica set somewhere.
   * @example
   * await db.admin.refreshPrimaries();
   */
  async refreshPrimaries(): Promise<boolean> {
    return this.deps.topology.refreshPrimaries();
  }

  /**
   * Re-reads the district placement from global now; true when a district changed shard.
   * @example
   * await db.admin.refreshPlacement();
   */
  async refreshPlacement(): Promise<boolean> {
    return this.deps.topology.refreshPlacement();
  }

  /** Reads the placement at open on a connection of its own (2 s at most; the config stands otherwise). */
  async loadPlacementAtOpen(): Promise<void> {
    await this.deps.topology.loadPlacementAtOpen(2_000);
  }

  /** @internal Starts the periodic placement refresh (the cluster does this at open; tests restart it). */
  start(): void {
    this.deps.refresh.start();
  }

  /** @internal Stops the periodic placement refresh (tests that count statements; close). */
  stop(): void {
    this.deps.refresh.stop();
  }
}

export type { AddShardInput, AddShardResult, DistrictMoveRecord, DistrictMoveResult, FailoverOptions, FailoverResult };
