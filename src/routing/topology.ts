import type { ClusterConfig } from '../config/cluster-config.js';
import { masked } from '../config/node-address.js';
import { UnknownDistrictError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { NodePool } from '../pool/node-pool.js';
import { loadPlacement, loadPlacementOnce, loadRecordedShards, type DistrictPlacement } from './placement.js';
import { loadShardPrimaries, loadShardPrimariesOnce, type RecordedPrimary } from './shard-primaries.js';

/** A pool replaced by a failover is closed this long after (statements still running on it end first). */
const RETIRE_AFTER_MS = 15_000;
/** Back-to-back reloads of the shard primaries (writes failing during an outage) are spaced by this. */
const PRIMARIES_MIN_INTERVAL_MS = 50;

/** The key of a tier or shard: `global` or a shard name. Every primary is addressed by one. */
export type ShardKey = string;
export const GLOBAL: ShardKey = 'global';

/** The primary and replica pools of one shard (or of global). */
export interface ShardNodes {
  key: ShardKey;
  primary: NodePool;
  replicas: NodePool[];
  districts: number[];
}

/**
 * Every node of the cluster, with one pool each, and the district -> shard map. The config
 * seeds the map; once global holds `district_placement` rows they win ({@link refreshPlacement}).
 */
export class Topology {
  readonly global: ShardNodes;
  readonly shards: ShardNodes[];
  private readonly byKey = new Map<ShardKey, ShardNodes>();
  private readonly districtOwner = new Map<number, ShardKey>();
  private readonly makeNodes: (
    key: ShardKey,
    primary: ClusterConfig['global']['primary'],
    replicas: ClusterConfig['global']['replicas'],
    districts: number[],
  ) => ShardNodes;
  private refreshing: Promise<boolean> | undefined;
  /** Bumped whenever a district changes shard here: caches of where rows live are then dropped. */
  placementEpoch = 0;
  /** True once global's placement was read (the table exists): periodic refreshes run from then. */
  placementLoaded = false;
  /** Where refusals of unapproved shards and placements are logged (openCluster's `warn`). */
  warn: (message: string) => void = (message) => console.warn(`[mxo-data] ${message}`);
  /** Every refusal since open, newest last (for status and tests). */
  readonly refusals: string[] = [];
  private readonly refused = new Set<string>();
  /** Told about a shard this process learned from global (the cluster gives it a write-behind buffer). */
  onShardAdded: ((nodes: ShardNodes) => void) | undefined;
  /** The `shard_primaries` version each shard follows here (absent: the config's nodes). */
  private readonly primaryVersions = new Map<ShardKey, number>();
  private refreshingPrimaries: Promise<boolean> | undefined;
  private nextPrimaries: Promise<boolean> | undefined;
  private primariesLoadedAt = 0;
  /** Pools a failover replaced, closed after RETIRE_AFTER_MS (or at close). */
  private readonly retired = new Set<NodePool>();
  private readonly poolOptions: ConstructorParameters<typeof NodePool>[2];
  private readonly metrics: Metrics;

  constructor(
    readonly config: ClusterConfig,
    metrics: Metrics,
  ) {
    const poolOptions = { ...config.pool, statementTimeoutMs: config.twoPhase.statementTimeoutMs };
    this.poolOptions = poolOptions;
    this.metrics = metrics;
    const nodes = (this.makeNodes = (
      key: ShardKey,
      primary: ClusterConfig['global']['primary'],
      replicas: ClusterConfig['global']['replicas'],
      districts: number[],
    ): ShardNodes => ({
      key,
      primary: new NodePool({ shard: key, role: 'primary', name: `${key}-primary` }, primary, poolOptions, metrics),
      replicas: replicas.map(
        (address, i) => new NodePool({ shard: key, role: 'replica', name: `${key}-replica-${i + 1}` }, address, poolOptions, metrics),
      ),
      districts,
    }));
    this.global = nodes(GLOBAL, config.global.primary, config.global.replicas, []);
    this.byKey.set(GLOBAL, this.global);
    this.shards = config.shards.map((s) => nodes(s.name, s.primary, s.replicas, s.districts));
    for (const shard of this.shards) {
      this.byKey.set(shard.key, shard);
      for (const d of shard.districts) this.districtOwner.set(d, shard.key);
    }
  }

  /** The shard that owns `districtId`; throws {@link UnknownDistrictError} naming it otherwise. */
  shardOfDistrict(districtId: number): ShardKey {
    const owner = this.districtOwner.get(districtId);
    if (owner === undefined) throw new UnknownDistrictError(districtId);
    return owner;
  }

  /** Every configured district, ascending. */
  allDistricts(): number[] {
    return [...this.districtOwner.keys()].sort((a, b) => a - b);
  }

  /**
   * Reloads the district -> shard map from global's `district_placement` (single flight).
   * Returns whether any district changed shard. Before migrate (no table) the config stays.
   */
  refreshPlacement(): Promise<boolean> {
    this.refreshing ??= loadPlacement(this.global.primary)
      .then(async (rows) => {
        await this.learnShards(rows);
        return this.loaded(rows);
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** At open: the placement on a connection of its own, bounded by `timeoutMs`, never failing. */
  async loadPlacementAtOpen(timeoutMs: number): Promise<void> {
    const rows = await loadPlacementOnce(this.global.primary, timeoutMs);
    await this.learnShards(rows).catch(() => {});
    this.loaded(rows);
    // A process started after a failover writes to the promoted primary from its first call.
    if (rows || this.global.replicas.length > 0) {
      // From global's replicas too: after a failover of global its config primary may be dead.
      const answers = await Promise.all([this.global.primary, ...this.global.replicas].map((p) => loadShardPrimariesOnce(p, timeoutMs)));
      const newest = new Map<string, RecordedPrimary>();
      for (const row of answers.flat()) if ((newest.get(row.shard)?.version ?? 0) < row.version) newest.set(row.shard, row);
      this.applyPrimaries([...newest.values()]);
    }
  }

  /**
   * Reloads where each shard's primary and replicas are from global's `shard_primaries` (written
   * by a failover; single flight). Returns whether any shard's nodes changed here. Called on a
   * timer and at once when a write finds its primary gone or read-only.
   */
  refreshPrimaries(): Promise<boolean> {
    if (this.refreshingPrimaries) {
      // The read in flight may have started before the failover this caller is looking for: one
      // more read, after it, shared by every caller meanwhile (so at most one at a time, spaced).
      this.nextPrimaries ??= this.refreshingPrimaries
        .catch(() => false)
        .then(() => new Promise((r) => setTimeout(r, Math.max(0, this.primariesLoadedAt + PRIMARIES_MIN_INTERVAL_MS - Date.now()))))
        .then(() => {
          this.nextPrimaries = undefined;
          return this.refreshPrimaries();
        });
      return this.nextPrimaries;
    }
    this.refreshingPrimaries = this.loadPrimaries()
      .then((rows) => this.applyPrimaries(rows))
      .finally(() => {
        this.primariesLoadedAt = Date.now();
        this.refreshingPrimaries = undefined;
      });
    return this.refreshingPrimaries;
  }

  /**
   * The recorded nodes from global's primary and its replicas at once, the newest version of each
   * shard wins: after a failover of global the record is on the promoted server (and its
   * replicas), not on the old primary, which may be dead or fenced yet still answering.
   */
  private async loadPrimaries(): Promise<RecordedPrimary[]> {
    const sources = [this.global.primary, ...this.global.replicas];
    const answers = await Promise.allSettled(sources.map((pool) => loadShardPrimaries(pool)));
    const newest = new Map<string, RecordedPrimary>();
    for (const answer of answers) {
      if (answer.status !== 'fulfilled') continue;
      for (const row of answer.value) if ((newest.get(row.shard)?.version ?? 0) < row.version) newest.set(row.shard, row);
    }
    // Nobody answered: the error of the primary (a caller's refresh fails as before).
    if (answers.every((a) => a.status === 'rejected')) throw (answers[0] as PromiseRejectedResult).reason;
    return [...newest.values()];
  }

  /**
   * Follows recorded failovers newer than what this process has: a new pool for a moved primary
   * (the config's user, password and database for the shard), the replicas the record lists
   * (pools kept where the address is the same). Replaced pools are retired, not closed at once.
   */
  applyPrimaries(rows: RecordedPrimary[]): boolean {
    let changed = false;
    for (const row of rows) {
      const nodes = this.byKey.get(row.shard);
      if (!nodes) continue;
      if (row.version <= (this.primaryVersions.get(row.shard) ?? 0)) continue;
      this.primaryVersions.set(row.shard, row.version);
      const at = (pool: NodePool, e: { host: string; port: number }) => pool.address.host === e.host && pool.address.port === e.port;
      const key = nodes.key;
      if (!at(nodes.primary, row)) {
        this.retire(nodes.primary);
        nodes.primary = new NodePool(
          { shard: key, role: 'primary', name: `${key}-primary` },
          { ...nodes.primary.address, host: row.host, port: row.port },
          this.poolOptions,
          this.metrics,
        );
        changed = true;
      }
      const template = nodes.replicas[0]?.address ?? nodes.primary.address;
      const replicas = row.replicas.map(
        (e, i) =>
          nodes.replicas.find((p) => at(p, e)) ??
          new NodePool({ shard: key, role: 'replica', name: `${key}-replica-${i + 1}` }, { ...template, ...e }, this.poolOptions, this.metrics),
      );
      for (const old of nodes.replicas) {
        if (!replicas.includes(old)) {
          this.retire(old);
          changed = true;
        }
      }
      if (replicas.some((p) => !nodes.replicas.includes(p))) changed = true;
      nodes.replicas.splice(0, nodes.replicas.length, ...replicas);
    }
    return changed;
  }

  /** The `shard_primaries` version `key` follows here (0: the config's nodes). */
  primaryVersion(key: ShardKey): number {
    return this.primaryVersions.get(key) ?? 0;
  }

  private retire(pool: NodePool): void {
    this.retired.add(pool);
    setTimeout(() => {
      if (this.retired.delete(pool)) void pool.close().catch(() => {});
    }, RETIRE_AFTER_MS).unref();
  }

  /**
   * Opens pools for shards the placement names but this process's config lacks, from the shards
   * `db.admin.addShard` recorded on global, with global's user and password: only a shard the
   * config approves (`approvedShards`, same name, host, port and database). Any other recorded
   * shard is refused and logged, and no connection is made to it: global's rows are not trusted
   * to say where this process sends its credentials (issue 23, H2).
   */
  private async learnShards(rows: DistrictPlacement[] | undefined): Promise<void> {
    if (!rows || rows.every((r) => this.byKey.has(r.shard))) return;
    const { user, password } = this.config.global.primary;
    for (const shard of await loadRecordedShards(this.global.primary)) {
      if (this.byKey.has(shard.name)) continue;
      const approved = this.config.approvedShards.find((a) => a.name === shard.name);
      const recorded = `${shard.host}:${shard.port}/${shard.database}`;
      if (!approved || approved.host !== shard.host || approved.port !== shard.port || approved.database !== shard.database) {
        this.refuse(
          `shard:${shard.name}:${recorded}`,
          approved
            ? `shard "${shard.name}" recorded on global at ${recorded}, but the config approves it at ${approved.host}:${approved.port}/${approved.database}: not connecting`
            : `shard "${shard.name}" recorded on global at ${recorded} is not in this process's config (shards or approvedShards): not connecting`,
        );
        continue;
      }
      const nodes = this.addShard({
        name: shard.name,
        primary: masked({ host: approved.host, port: approved.port, database: approved.database, user, password, ...(this.config.tls ? { tls: this.config.tls } : {}) }),
        replicas: [],
      });
      this.onShardAdded?.(nodes);
    }
  }

  /** Logs a refusal once per distinct cause (the placement is re-read every few seconds). */
  private refuse(key: string, message: string): void {
    if (this.refused.has(key)) return;
    this.refused.add(key);
    this.refusals.push(message);
    this.warn(message);
  }

  private loaded(rows: DistrictPlacement[] | undefined): boolean {
    if (!rows) return false;
    this.placementLoaded = true;
    return this.applyPlacement(rows);
  }

  /** Applies placement rows; a row naming a shard this process does not know is refused (logged). */
  applyPlacement(rows: DistrictPlacement[]): boolean {
    let changed = false;
    for (const { districtId, shard } of rows) {
      if (this.districtOwner.get(districtId) === shard) continue;
      if (!this.byKey.has(shard)) {
        // A shard neither configured nor approved: the row is refused, the district keeps its owner.
        this.refuse(`placement:${districtId}:${shard}`, `district ${districtId} placed on shard "${shard}", which this process's config does not approve: placement refused`);
        continue;
      }
      changed = true;
      const before = this.districtOwner.get(districtId);
      if (before !== undefined) {
        const list = this.byKey.get(before)?.districts;
        if (list && list.includes(districtId)) list.splice(list.indexOf(districtId), 1);
      }
      this.districtOwner.set(districtId, shard);
      const list = this.byKey.get(shard)?.districts;
      if (list && !list.includes(districtId)) {
        list.push(districtId);
        list.sort((a, b) => a - b);
      }
    }
    if (changed) this.placementEpoch++;
    return changed;
  }

  /** Adds a shard (no districts yet) to this process's topology (db.admin.addShard). */
  addShard(shard: {
    name: string;
    primary: ClusterConfig['global']['primary'];
    replicas: ClusterConfig['global']['replicas'];
  }): ShardNodes {
    if (this.byKey.has(shard.name)) throw new Error(`shard "${shard.name}" already exists`);
    const added = this.makeNodes(shard.name, shard.primary, shard.replicas, []);
    this.shards.push(added);
    this.byKey.set(added.key, added);
    return added;
  }

  /** True when this process has pools for `key`. */
  has(key: ShardKey): boolean {
    return this.byKey.has(key);
  }

  nodes(key: ShardKey): ShardNodes {
    const nodes = this.byKey.get(key);
    if (!nodes) throw new Error(`unknown shard "${key}"`);
    return nodes;
  }

  primary(key: ShardKey): NodePool {
    return this.nodes(key).primary;
  }

  /** Global and every shard: every primary, in a stable order. */
  all(): ShardNodes[] {
    return [this.global, ...this.shards];
  }

  pools(): NodePool[] {
    return this.all().flatMap((n) => [n.primary, ...n.replicas]);
  }

  async close(): Promise<void> {
    const retired = [...this.retired];
    this.retired.clear();
    await Promise.all([...this.pools(), ...retired].map((p) => p.close()));
  }
}
