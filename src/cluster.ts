import type { Registry } from 'prom-client';
import { backupCluster, type BackupFile, type BackupOptions } from './backup/backup.js';
import { resolveClusterConfig, type ClusterConfig } from './config/cluster-config.js';
import { loadConfigFile } from './config/load-config.js';
import type { ClusterConfigInput } from './config/schema.js';
import { ClosedError } from './errors.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { initialiseSeries } from './metrics/initial-series.js';
import { OnlineCharactersCollector } from './metrics/online-characters.js';
import { SemiSyncCollector } from './metrics/semi-sync-collector.js';
import { migrateNode, type Tier } from './migrate/index.js';
import type { NodePool } from './pool/node-pool.js';
import { LagMonitor } from './replica/lag-monitor.js';
import { repairXaReplica, type ReplicaRepairReport } from './replica/xa-replica-repair.js';
import { repairStuckReplicas } from './replica/replica-repair-sweep.js';
import { tryLease, withLease } from './ops/lease.js';
import { checkDurability, type NodeDurability } from './ops/durability.js';
import { seedDistricts } from './migrate/seed-districts.js';
import { backfillRosterStatus, ROSTER_MIGRATION } from './migrate/backfill-roster.js';
import { seedPlacement } from './migrate/seed-placement.js';
import { Admin } from './ops/admin.js';
import { collectPoolStats } from './metrics/pool-stats.js';
import { countOnlineByDistrict } from './systems/presence/online-by-district.js';
import { DataSession, type SharedMachinery } from './data-session.js';
import { WriteBehindBuffer } from './writebehind/write-behind-buffer.js';
import { PositionOrder } from './writebehind/position-order.js';
import { rerouteByDirectory } from './writebehind/position-reroute.js';
import { Directory } from './routing/directory.js';
import { IdAllocator } from './routing/id-allocator.js';
import { ReadRouter } from './routing/read-router.js';
import { PointReadBatcher } from './routing/point-read-batcher.js';
import { ReadSession } from './routing/read-session.js';
import { GLOBAL, Topology } from './routing/topology.js';
import { Coordinator, type CoordinatorHooks } from './twopc/coordinator.js';
import { Recovery, type RecoveryReport } from './twopc/recovery.js';
import { verifyCluster, type VerifyReport } from './ops/verify.js';
import { Maintenance } from './ops/maintenance.js';
import type { LevelCurve } from './systems/shared/level-curve.js';
import { clusterStatus, type ClusterStatus } from './ops/status.js';
import { restoreCluster, type RestoreOptions, type RestoreReport } from './ops/restore.js';
import { createUsers, type CreateUsersOptions, type UsersReport } from './ops/users.js';
import { PlacementRefresh } from './routing/placement-refresh.js';
import { connectionOptions } from './pool/connection-options.js';
import { sessionTokenKey } from './routing/session-token-key.js';

export interface OpenClusterOptions {
  /** The prom-client registry to register metrics in; default: a new one (never the global one). */
  registry?: Registry;
  /** Fault-injection points for tests of crash recovery. Not for production use. */
  hooks?: CoordinatorHooks;
  /** Environment to read passwords from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The level curve and cap (default: cap 50, `100 * (level - 1)^2`); make one with `levelCurve()`. */
  levelCurve?: LevelCurve;
  /**
   * Where security refusals are logged (a placement or recorded shard the config does not
   * approve); default `console.warn`.
   */
  warn?: (message: string) => void;
}

/** What `migrate()` did on each primary. */
export interface MigrateReport {
  nodes: Array<{ node: string; applied: string[]; skipped: string[] }>;
}

/** An open cluster: routing, pools, two-phase commit, recovery and metrics. Itself a session. */
export class Cluster extends DataSession {
  /** The prom-client registry holding this cluster's metrics. */
  readonly metrics: Registry;
  readonly config: ClusterConfig;
  /** The cluster's chores (partitions, roll-ups, purges, restock, snapshots); on a timer, or `run()` once. */
  readonly maintenance: Maintenance;
  /** Live district moves and new shards (src/ops/admin.ts). */
  readonly admin: Admin;
  private readonly topology: Topology;
  private readonly recovery: Recovery;
  private readonly lagMonitor: LagMonitor;
  private readonly online: OnlineCharactersCollector;
  private readonly semiSync: SemiSyncCollector;
  private readonly shared: SharedMachinery;
  /** Signs read-session tokens (MXO_SESSION_TOKEN_SECRET); undefined: tokens unsigned. */
  private readonly tokenKey: Buffer | undefined;
  private readonly buffers: Map<string, WriteBehindBuffer>;
  private sweep: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private closed = false;
  /** Use {@link openCluster}. */
  constructor(config: ClusterConfig, metrics: Metrics, options: OpenClusterOptions) {
    const topology = new Topology(config, metrics);
    if (options.warn) topology.warn = options.warn;
    initialiseSeries(metrics, { nodes: topology.pools().map((p) => p.identity), shards: topology.shards.map((s) => s.key) });
    const lagMonitor = new LagMonitor(topology, metrics, config.replicas);
    // Looked up at each use: a failover of global replaces its primary.
    const directory = new Directory(() => topology.global.primary);
    // One position order per cluster object; a position whose row left its shard goes where the directory says now.
    const buffers = new Map<string, WriteBehindBuffer>();
    const positions = { order: new PositionOrder(), reroute: rerouteByDirectory(directory, (shard) => buffers.get(shard)) };
    // The primary is looked up at each flush: a failover replaces it.
    for (const s of topology.shards) buffers.set(s.key, new WriteBehindBuffer(s.key, () => s.primary, metrics, config.writeBehind, positions));
    // A shard added later (db.admin.addShard, or learned from global) gets its buffer here.
    topology.onShardAdded = (s) => buffers.set(s.key, new WriteBehindBuffer(s.key, () => s.primary, metrics, config.writeBehind, positions));
    const reads = new ReadRouter(metrics, config.replicas, lagMonitor);
    const shared: SharedMachinery = {
      topology,
      writeBehind: (shard) => buffers.get(shard)!,
      directory,
      ids: new IdAllocator(() => topology.global.primary),
      coordinator: new Coordinator((key) => topology.primary(key), metrics, config.twoPhase, options.hooks),
      reads,
      pointReads: new PointReadBatcher(reads, config.reads),
      requireFencing: config.presence.requireFencing,
      metrics,
      levelCurve: options.levelCurve,
    };
    const tokenKey = sessionTokenKey();
    super(shared, new ReadSession(lagMonitor, tokenKey));
    this.tokenKey = tokenKey;
    this.shared = shared;
    this.buffers = buffers;
    this.config = config;
    this.topology = topology;
    this.lagMonitor = lagMonitor;
    this.metrics = metrics.registry;
    this.recovery = new Recovery(
      () => topology.all().map((n) => ({ key: n.key, pool: n.primary })),
      metrics,
      config.recovery.gracePeriodMs,
      config.recovery.decisionRetentionMs,
    );
    metrics.collectors.add(this.collectPoolStats);
    this.online = new OnlineCharactersCollector(metrics.onlineCharacters, () =>
      topology.shards.map((s) => ({ shard: s.key, districts: s.districts, count: () => countOnlineByDistrict(s.primary) })),
    );
    metrics.asyncCollectors.add(this.online.collect);
    // Primaries with replicas (read at each scrape: a failover changes them).
    this.semiSync = new SemiSyncCollector(metrics.semiSyncActive, () =>
      topology.all().filter((n) => n.replicas.length > 0).map((n) => ({ shard: n.key, primary: n.primary })),
    );
    metrics.asyncCollectors.add(this.semiSync.collect);
    this.lagMonitor.start();
    this.admin = new Admin({
      topology,
      coordinator: shared.coordinator,
      directory: shared.directory,
      writeBehind: shared.writeBehind,
      recover: () => this.recover(),
      env: options.env ?? process.env,
      onShardAdded: (s) => topology.onShardAdded?.(s),
      refresh: new PlacementRefresh(topology),
    });
    this.admin.start();
    this.maintenance = new Maintenance(this, topology, config.maintenance);
    this.maintenance.start();
    if (config.recovery.intervalMs > 0) {
      // A sweep still running when the timer fires is not queued behind: the next tick will do.
      this.sweep = setInterval(() => void (this.sweeping ? undefined : this.recover().catch(() => {})), config.recovery.intervalMs);
      this.sweep.unref();
    }
  }

  /** A player session with the same surface as `db`; pass a token to continue one from elsewhere. */
  session(token?: string): DataSession {
    this.assertOpen();
    const observer = this.lagMonitor;
    return new DataSession(
      this.shared,
      token !== undefined ? ReadSession.fromToken(token, observer, this.tokenKey) : new ReadSession(observer, this.tokenKey),
    );
  }

  /** The shard that owns a district (global's placement; the config until migrate or open reads it). */
  shardOfDistrict(districtId: number): string {
    return this.topology.shardOfDistrict(districtId);
  }

  /**
   * Creates the databases if missing and applies the SQL migrations to every primary (global:
   * reference + global tiers; shards: reference + shard tiers); replicas receive them through
   * replication and are waited for. Then makes sure every configured district has a row in the
   * `districts` reference table. Idempotent.
   */
  async migrate(): Promise<MigrateReport> {
    this.assertOpen();
    const report: MigrateReport = { nodes: [] };
    let rosterAdded = false;
    await Promise.all(
      this.topology.all().map(async (nodes) => {
        const tiers: Tier[] = nodes.key === GLOBAL ? ['reference', 'global'] : ['reference', 'shard'];
        const { address } = nodes.primary;
        const result = await migrateNode({
          connection: connectionOptions(address),
          database: address.database,
          tiers,
          label: nodes.primary.label,
        });
        report.nodes.push({ node: nodes.primary.identity.name, ...result });
        if (nodes.key === GLOBAL && result.applied.some((f) => f.endsWith(ROSTER_MIGRATION))) rosterAdded = true;
      }),
    );
    // A connection attempted before the databases existed (a check at open) put the node in its
    // back-off window; they exist now.
    for (const pool of this.topology.pools()) pool.forgetFailures();
    await seedDistricts(this.shared.coordinator, this.topology);
    await seedPlacement(this.shared.coordinator, this.topology);
    if (rosterAdded) await backfillRosterStatus(this.shared.coordinator, this.topology);
    await this.lagMonitor.waitForReplicas(30_000);
    // The check at open cannot read a database that migrate has only now created.
    await this.checkDurability().catch(() => {});
    return report;
  }

  /**
   * Resolves in-doubt two-phase-commit branches on every primary, then repairs any replica left
   * stuck by MariaDB's user-XA crash defects (only where the primary's binlog proves the cause;
   * see {@link repairReplicas}), in one process of the cluster at a time (a lease on the global
   * primary; `replicaRepairSkipped` when another process holds it). Safe to run any time, from
   * any number of processes.
   */
  async recover(): Promise<RecoveryReport & { replicaRepairs: ReplicaRepairReport[]; replicaRepairSkipped: boolean }> {
    this.assertOpen();
    // Never two sweeps of this process at once: a call while one runs waits for it, then scans afresh.
    const previous = this.sweeping;
    const mine = (async () => {
      await previous?.catch(() => {});
      const report = await this.recovery.run();
      // Replica repair changes state every process shares: one process of the cluster at a time.
      const repair = await tryLease(this.topology.global.primary, 'replica-repair', () => repairStuckReplicas(this.topology));
      return { ...report, replicaRepairs: repair.acquired ? repair.value : [], replicaRepairSkipped: !repair.acquired };
    })();
    this.sweeping = mine;
    void mine.finally(() => this.sweeping === mine && (this.sweeping = undefined)).catch(() => {});
    return mine;
  }

  /**
   * Reads `sync_binlog` and `innodb_flush_log_at_trx_commit` on every primary (each may hold
   * two-phase-commit decisions; both must be 1). Runs at open; sets `mxo_node_durable` and emits a
   * `MXO_UNSAFE_DURABILITY` process warning per primary that is not durable.
   * @example const nodes = await db.checkDurability(); // [{ node: 'alpha-primary', durable: true, ... }]
   */
  async checkDurability(): Promise<NodeDurability[]> {
    this.assertOpen();
    return checkDurability(
      this.topology.all().map((n) => n.primary),
      this.shared.metrics,
    );
  }

  /** Waits (up to `timeoutMs`) until every reachable replica has applied its primary's writes so far. */
  async waitForReplicas(timeoutMs = 10_000): Promise<void> {
    this.assertOpen();
    await this.lagMonitor.waitForReplicas(timeoutMs);
  }

  /**
   * Operator runbook for replicas left stuck by MariaDB 10.11's user-XA crash defects
   * (MDEV-21469 family): waits for every replica to reach its primary and, where it cannot,
   * repairs what the primary's binlog proves. See src/replica/xa-replica-repair.ts.
   */
  async repairReplicas(): Promise<ReplicaRepairReport[]> {
    this.assertOpen();
    // Under the same lease as the sweep's repair: two repairers could skip one event twice.
    return withLease(
      this.topology.global.primary,
      'replica-repair',
      async () => {
        const reports: ReplicaRepairReport[] = [];
        for (const nodes of this.topology.all()) {
          for (const replica of nodes.replicas) reports.push(await repairXaReplica(nodes.primary, replica));
        }
        return reports;
      },
      { waitMs: 120_000 },
    );
  }

  /** Prepared XA branches on every primary right now (in doubt until their transaction settles). */
  async inDoubtCount(): Promise<number> {
    this.assertOpen();
    const counts = await Promise.all(
      this.topology.all().map((n) => n.primary.use('in_doubt_count', async (c) => ((await c.text('XA RECOVER'))[0] as unknown[]).length)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Proves the cluster's invariants with SQL on every node: money equals the ledger, every item in
   * exactly one place, directory and shards agree, member counts equal memberships, replicas equal
   * their primaries. Run it at a quiet moment; see src/ops/verify.ts.
   *
   * @example
   * const report = await db.verify();
   * if (!report.ok) for (const v of report.violations) console.error(`${v.check}: ${v.message}`);
   */
  async verify(): Promise<VerifyReport> {
    this.assertOpen();
    await Promise.all([...this.buffers.values()].map((b) => b.flush()));
    return verifyCluster(this.topology);
  }

  /**
   * Dumps global and every shard (from a replica where there is one) to gzipped SQL files in
   * `outDir`; the password goes through a private option file, never a command line.
   */
  async backup(options: BackupOptions): Promise<BackupFile[]> {
    this.assertOpen();
    return backupCluster(this.config, options);
  }

  /**
   * Every node (up/down, role, GTID position, replication threads and lag, pool use), in-doubt
   * XA branches, schema migrations pending or drifted, characters and online players per shard;
   * `healthy` is false and `problems` names each thing wrong.
   * @example
   * const s = await db.status();
   * if (!s.healthy) console.error(s.problems.join('\n'));
   */
  async status(): Promise<ClusterStatus> {
    this.assertOpen();
    const report = await clusterStatus(this.topology, {
      maxLagMs: this.config.replicas.maxLagMs,
      inDoubtGraceMs: this.config.recovery.gracePeriodMs,
      monitor: (replica) => this.lagMonitor.verdict(replica),
    });
    // Moves in progress (or left by a crashed mover: db.admin.recoverMoves()); none when global is down.
    report.districtMoves = await this.admin.moves({ unfinished: true }).catch(() => []);
    return report;
  }

  /**
   * Restores a `backup()` into this cluster, which must be empty (migrate nothing first): loads
   * every tier, checks every table's checksum against the backup's, sets id sequences past the
   * highest restored id, and waits for the replicas.
   * @example
   * await db.restore({ from: 'backups/' });
   */
  async restore(options: RestoreOptions): Promise<RestoreReport> {
    this.assertOpen();
    const report = await restoreCluster(this.config, options);
    // The databases exist now: end any back-off a connection attempt before them started.
    for (const pool of this.topology.pools()) pool.forgetFailures();
    await this.lagMonitor.waitForReplicas(60_000);
    return report;
  }

  /**
   * Creates the least-privilege accounts mxo_app, mxo_migrate, mxo_backup, mxo_repl and
   * mxo_monitor on every primary (passwords from MXO_APP_PASSWORD, ...); run as an admin.
   * @example
   * const { nodes } = await db.createUsers();
   */
  async createUsers(options: CreateUsersOptions = {}): Promise<UsersReport> {
    this.assertOpen();
    const report = await createUsers(this.config, options);
    await this.lagMonitor.waitForReplicas(30_000);
    return report;
  }

  /** Every node's pool, for diagnostics. */
  pools(): NodePool[] {
    return this.topology.pools();
  }

  /**
   * Flushes the write-behind buffers, stops timers and closes every connection. Buffered
   * positions and log rows are written before this returns; if a shard cannot take them the
   * error is thrown after everything else has been closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.maintenance.stop();
    this.admin.stop();
    const buffers = [...this.buffers.values()];
    const flushed = await Promise.allSettled(buffers.map((b) => b.close()));
    // A closing buffer's flush may re-route positions to one already closed: write those too
    // (only where the close itself succeeded: a shard that refused its rows is not tried again).
    for (let round = 0; round < 5; round++) {
      const left = buffers.filter((b, i) => flushed[i]!.status === 'fulfilled' && b.depth > 0);
      if (left.length === 0) break;
      flushed.push(...(await Promise.allSettled(left.map((b) => b.flush()))));
    }
    if (this.sweep) clearInterval(this.sweep);
    this.lagMonitor.stop();
    this.shared.metrics.collectors.delete(this.collectPoolStats);
    this.shared.metrics.asyncCollectors.delete(this.online.collect);
    this.online.close();
    this.shared.metrics.asyncCollectors.delete(this.semiSync.collect);
    this.semiSync.close();
    await this.topology.close();
    const failed = flushed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private readonly collectPoolStats = (): void => collectPoolStats(this.shared.metrics, this.topology.pools());

  private assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }
}

/**
 * Opens a cluster from a config object, a `defineCluster` result, or a path to a `.ts`, `.js`
 * or `.json` config file. Validates the config (throws `ConfigError` naming bad fields) and
 * creates the pools; connections open lazily.
 */
export async function openCluster(configOrPath: ClusterConfigInput | string, options: OpenClusterOptions = {}): Promise<Cluster> {
  const raw = typeof configOrPath === 'string' ? await loadConfigFile(configOrPath) : configOrPath;
  const config = resolveClusterConfig(raw, options.env);
  const db = new Cluster(config, createMetrics(options.registry), options);
  // In the background: connections stay lazy, and an unreachable node is checked by the next call.
  void db.checkDurability().catch(() => {});
  // The district placement from global (the config's until migrate); bounded: global may be down.
  await db.admin.loadPlacementAtOpen();
  return db;
}
