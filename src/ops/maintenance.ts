import type { MaintenanceConfig } from '../config/schema.js';
import type { DataSession } from '../data-session.js';
import type { NodePool } from '../pool/node-pool.js';
import type { Topology } from '../routing/topology.js';
import { tryLease } from './lease.js';
import { purgeIdempotencyKeys } from '../routing/idempotency.js';
import { purgePresenceLeftovers } from '../systems/presence/presence-purge.js';
import { rollLogPartitions } from './log-partitions.js';
import { snapshotServerMetrics } from './server-metrics.js';

/** The jobs, in the order `run()` runs them. */
export const MAINTENANCE_JOBS = [
  'partitions',
  'economy',
  'sessions',
  'inactive',
  'restock',
  'server_metrics',
  'presence',
  'idempotency_keys',
] as const;
export type MaintenanceJob = (typeof MAINTENANCE_JOBS)[number];

/** How often each job is due, cluster-wide. */
const PERIOD_SECONDS: Record<MaintenanceJob, number> = {
  partitions: 24 * 3600,
  economy: 300,
  sessions: 3600,
  inactive: 24 * 3600,
  restock: 60,
  server_metrics: 60,
  presence: 30,
  idempotency_keys: 3600,
};

/** What one job did (or why it did not run). */
export interface MaintenanceResult {
  job: MaintenanceJob;
  /** `ran`, `skipped` (another process holds its lease, or it is not due / not configured), `failed`. */
  outcome: 'ran' | 'skipped' | 'failed';
  detail: string;
}

/** What a job needs. */
interface JobContext {
  db: DataSession;
  topology: Topology;
  config: MaintenanceConfig;
  now: Date;
}

const JOBS: Record<MaintenanceJob, (ctx: JobContext) => Promise<string | undefined>> = {
  partitions: async ({ topology, config, now }) => {
    const added = await Promise.all(topology.shards.map((s) => rollLogPartitions(s.primary, now, config.partitionMonthsAhead)));
    return `partitions added: ${added.flat().join(', ') || 'none'}; logs older than 90 days archived`;
  },
  economy: async ({ db }) => {
    const day = await db.economy.rollUp();
    return `economy ${day.trackingDate}: ${day.totalMoneyInCirculation} in circulation`;
  },
  sessions: async ({ db }) => {
    const purged = await db.accounts.purgeExpiredSessions();
    return `purged ${purged.sessions} expired sessions, ${purged.throttles} throttle rows`;
  },
  inactive: async ({ db, config }) => {
    if (config.archiveInactiveDays === undefined) return undefined;
    const { archived } = await db.characters.archiveInactive(config.archiveInactiveDays);
    return `archived ${archived.length} characters inactive for ${config.archiveInactiveDays} days`;
  },
  restock: async ({ db, topology }) => {
    let restocked = 0;
    for (const shard of topology.shards) {
      const due = await shard.primary.use('maintenance_restock_scan', (c) =>
        c.rows<{ vendor_id: number }>(
          'SELECT vendor_id FROM vendors WHERE restocks_inventory AND last_restock + INTERVAL restock_interval SECOND <= NOW() ORDER BY vendor_id LIMIT 1000',
        ),
      );
      for (const v of due) if ((await db.vendors.restock(Number(v.vendor_id))).restocked) restocked++;
    }
    return `restocked ${restocked} vendors`;
  },
  server_metrics: async ({ topology }) => {
    await Promise.all(topology.shards.map((s) => snapshotServerMetrics(s.primary)));
    return `server_metrics row on ${topology.shards.length} shards`;
  },
  // Claims that lapsed without a takeover: is_online follows them (issue 18).
  presence: async ({ db, topology }) => {
    const { released } = await db.presence.releaseExpired();
    const purged = await topology.global.primary.use('maintenance_presence_purge', (c) => purgePresenceLeftovers(c));
    return `released ${released.length} expired presence claims; purged ${purged.handoffs} old handoff tickets, ${purged.reservations} lapsed name reservations`;
  },
  idempotency_keys: async ({ topology, config }) => {
    const days = config.idempotencyKeyRetentionDays;
    const purged = await Promise.all(
      topology.shards.map((s) => s.primary.use('maintenance_idempotency_purge', (c) => purgeIdempotencyKeys(c, days))),
    );
    return `purged ${purged.reduce((a, b) => a + b, 0)} idempotency keys older than ${days} days`;
  },
};

/**
 * The cluster's chores (docs/design.md, "Maintenance"): log partitions rolled forward and old log
 * rows archived, the economy roll-up, expired sessions purged, inactive characters archived (when
 * configured), vendor restock, `server_metrics` snapshots. Each job runs under a lease on the
 * global primary, so one process of the whole cluster runs it at a time; a timer runs the jobs
 * that are due by the global primary's clock (`maintenance_runs`).
 */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly db: DataSession,
    private readonly topology: Topology,
    private readonly config: MaintenanceConfig,
  ) {}

  /**
   * Runs every job once now (each under its lease; a job another process is running is skipped).
   *
   * @example
   * for (const r of await db.maintenance.run()) console.log(r.job, r.outcome, r.detail);
   */
  async run(options: { now?: Date } = {}): Promise<MaintenanceResult[]> {
    return this.runJobs(false, options.now ?? new Date());
  }

  /** Runs the jobs whose period has passed cluster-wide (what the timer does). */
  async runDue(options: { now?: Date } = {}): Promise<MaintenanceResult[]> {
    return this.runJobs(true, options.now ?? new Date());
  }

  /** Starts the timer (`maintenance.intervalMs`); runs never overlap within a process. */
  start(): void {
    if (this.config.intervalMs === 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.runDue()
        .catch(() => {})
        .finally(() => (this.running = undefined));
    }, this.config.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async runJobs(onlyDue: boolean, now: Date): Promise<MaintenanceResult[]> {
    const global = this.topology.global.primary;
    const results: MaintenanceResult[] = [];
    for (const job of MAINTENANCE_JOBS) {
      try {
        const leased = await tryLease(global, `maint-${job}`, async () => {
          if (onlyDue && !(await claimIfDue(global, job))) return { job, outcome: 'skipped' as const, detail: 'not due' };
          if (!onlyDue) await markStarted(global, job);
          const detail = await JOBS[job]({ db: this.db, topology: this.topology, config: this.config, now });
          await markFinished(global, job, detail ?? 'not configured');
          return { job, outcome: detail === undefined ? ('skipped' as const) : ('ran' as const), detail: detail ?? 'not configured' };
        });
        results.push(leased.acquired ? leased.value : { job, outcome: 'skipped', detail: 'another process is running it' });
      } catch (error) {
        results.push({ job, outcome: 'failed', detail: (error as Error).message });
        await markFinished(global, job, `failed: ${(error as Error).message}`).catch(() => {});
      }
    }
    return results;
  }
}

/** Under the job's lease: true (and the start recorded) when its period has passed by the server's clock. */
async function claimIfDue(global: NodePool, job: MaintenanceJob): Promise<boolean> {
  return global.use('maintenance_claim', async (c) => {
    await c.exec('INSERT IGNORE INTO maintenance_runs (job_name) VALUES (?)', [job]);
    const header = await c.exec(
      `UPDATE maintenance_runs SET last_started = NOW(6)
        WHERE job_name = ? AND (last_started IS NULL OR last_started <= NOW(6) - INTERVAL ? SECOND)`,
      [job, PERIOD_SECONDS[job]],
    );
    return header.affectedRows === 1;
  });
}

async function markStarted(global: NodePool, job: MaintenanceJob): Promise<void> {
  await global.use('maintenance_start', (c) =>
    c.exec(
      'INSERT INTO maintenance_runs (job_name, last_started) VALUES (?, NOW(6)) ON DUPLICATE KEY UPDATE last_started = VALUES(last_started)',
      [job],
    ),
  );
}

async function markFinished(global: NodePool, job: MaintenanceJob, outcome: string): Promise<void> {
  await global.use('maintenance_finish', (c) =>
    c.exec('UPDATE maintenance_runs SET last_finished = NOW(6), last_outcome = ? WHERE job_name = ?', [outcome.slice(0, 255), job]),
  );
}
