import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openCluster, type Cluster } from '../cluster.js';
import { configurePasswordHashing, SCRYPT_LOG_N } from '../crypto/password.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { seedContent } from './content.js';
import { prepareSandboxAsApp } from './sandbox-app-account.js';
import type { SimPlayerSpec } from './player.js';
import { mergeInto, percentile, type Arrivals, type StatsSnapshot } from './stats.js';
import { runPlayers, type WorkerJob, type WorkerMessage } from './worker.js';

/** The scrypt cost of the sandbox's simulated accounts: 2^12, 32 times cheaper than the library's default. */
const SANDBOX_SCRYPT_LOG_N = 12;
/**
 * The client's districts split over two shards as the shipped shards.config.ts does (0 tutorial,
 * 1 slums, 2 downtown, ..., 0x12 caves, 0x385 the loading area): the sandbox serves the
 * numbers a real client sends. test/play.test.ts compares them with shards.config.ts.
 */
const SHIPPED_DISTRICTS = [
  [0, 1, 2, 3, 7, 8, 9],
  [4, 5, 6, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x385],
];
/** Players arrive one by one over the first two seconds. */
const ARRIVAL_MS = 2_000;

export interface LivingClusterOptions {
  /** A cluster config file; absent: a sandbox (global + 2 shards, a replica each) for the run. */
  configPath?: string;
  players: number;
  processes: number;
  /** Seconds to run; 0 runs until Ctrl-C. */
  durationSec: number;
  /** Port for /metrics (0: any free port). */
  metricsPort: number;
  thinkMs?: number;
  /** Milliseconds between a player's absolute saves (default 5000). */
  saveEveryMs?: number;
  log?: (line: string) => void;
  /** Called once per second with the progress line (default: rewrite one terminal line). */
  progress?: (line: string) => void;
}

export interface LivingClusterSummary {
  ops: StatsSnapshot['ops'];
  failures: Record<string, number>;
  verified: boolean;
  violations: string[];
}

/**
 * `npm start`: a living cluster. Simulated players (spread over `processes` processes, as
 * district servers would share one cluster) follow the emulators' flow: login, the character
 * list, select (a handoff ticket), world entry (ticket found by character, claim, one spawn read);
 * then they move, chat, fight, run missions, buy and sell, trade (windows and direct, same- and
 * cross-shard), travel by hardline, join crews and organizations, save absolutely every few
 * seconds (fenced by their claim), and log out (last save, claim released). One progress line shows players online, operations/s,
 * p99, failures, in-doubt transactions and replica lag; `/metrics` is served; the run ends with
 * recovery, `verify` and a summary. Returns the exit code: 0 when verify passed and nothing failed.
 */
export async function runLivingCluster(options: LivingClusterOptions): Promise<number> {
  const log = options.log ?? console.log;
  let sandbox: Sandbox | undefined;
  if (!options.configPath) {
    log('starting a sandbox cluster: global + 2 shards (primary + 1 replica each)...');
    sandbox = await startSandbox({ shards: 2, replicasPerShard: 1, districts: SHIPPED_DISTRICTS });
  }
  // A sandbox is migrated as root and then used as mxo_app; a given cluster as its config says.
  let config: string;
  let db: Cluster;
  try {
    config = options.configPath ?? (await prepareSandboxAsApp(sandbox!));
    db = await openCluster(config);
    log(`database account: ${db.config.global.primary.user}${sandbox ? ' (least-privilege accounts created for this sandbox)' : ''}`);
  } catch (error) {
    await sandbox?.stop(); // no servers left behind by a failed start
    throw error;
  }
  let server: MetricsServer | undefined;
  // The sandbox's throwaway accounts hash at a cheaper scrypt cost so the whole population can log
  // in within seconds on two cores; a given cluster keeps the library's default.
  const passwordCostLog2 = sandbox ? SANDBOX_SCRYPT_LOG_N : undefined;
  if (passwordCostLog2 !== undefined) {
    configurePasswordHashing({ costLog2: passwordCostLog2 });
    log(`simulated accounts hash passwords at scrypt ln=${passwordCostLog2} (sandbox only; the library's default is ln=${SCRYPT_LOG_N})`);
  }
  try {
    if (!sandbox) await db.migrate();
    const tag = randomBytes(3).toString('hex');
    log(`creating ${options.players} players across districts ${db.config.shards.flatMap((s) => s.districts).join(', ')}...`);
    const worldId = await simWorld(db);
    const specs = await createPlayers(db, tag, options.players, worldId);
    const content = await seedContent(
      db,
      tag,
      specs.map((s) => s.characterId),
    );
    server = await serveMetrics(db, options.metricsPort);
    log(`metrics: ${server.url}`);
    log(
      `running ${options.players} players in ${options.processes} process(es)${options.durationSec > 0 ? ` for ${options.durationSec} s` : ''}; Ctrl-C stops`,
    );

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const deadline = options.durationSec > 0 ? setTimeout(onSignal, options.durationSec * 1_000) : undefined;
    const totals: Pick<StatsSnapshot, 'ops' | 'failures'> = { ops: {}, failures: {} };
    const progress = new Progress(db, options.progress ?? ((line) => process.stdout.write(`\r${line.padEnd(110)}`)));
    const job = (players: SimPlayerSpec[]): WorkerJob => ({
      config,
      content,
      players,
      peers: specs.map((s) => s.characterId),
      thinkMs: options.thinkMs ?? 250,
      saveEveryMs: options.saveEveryMs ?? 5_000,
      arrivalMs: ARRIVAL_MS,
      passwordCostLog2,
    });
    const onMessage = (worker: number) => (m: WorkerMessage) => {
      if (m.type === 'error') return log(`\nworker ${worker}: ${m.message}`);
      mergeInto(totals, m.stats);
      progress.add(worker, m.stats);
    };
    const ticker = setInterval(() => void progress.print(), 1_000);
    try {
      const shares = split(specs, options.processes);
      if (options.processes === 1) {
        await runPlayers(job(shares[0]!), stop.signal, onMessage(0));
      } else {
        await Promise.all(shares.map((share, i) => runChild(job(share), stop.signal, onMessage(i))));
      }
    } finally {
      clearInterval(ticker);
      if (deadline) clearTimeout(deadline);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    log(`\n${progress.arrivalLine(options.players)}`);
    log('players logged out; settling and verifying...');
    await db.waitForReplicas(30_000);
    const recovered = await db.recover();
    const report = await db.verify();
    const summary: LivingClusterSummary = {
      ops: totals.ops,
      failures: totals.failures,
      verified: report.ok,
      violations: report.violations.map((v) => `${v.check}: ${v.message}`),
    };
    printSummary(summary, recovered.committed.length + recovered.rolledBack.length, log);
    return report.ok && Object.keys(totals.failures).length === 0 ? 0 : 1;
  } finally {
    await server?.close();
    await db.close();
    if (sandbox) {
      await sandbox.stop();
      log('sandbox stopped');
    }
  }
}

/** The world the simulated characters live in: the first registered one, else world 1 registered now. */
async function simWorld(db: Cluster): Promise<number> {
  const [first] = await db.worlds.list({ consistency: 'strong' });
  return first?.worldId ?? (await db.worlds.register({ worldId: 1, name: 'Recursion' })).worldId;
}

/**
 * Accounts (a few characters each) and their characters, created as the emulators' margin server
 * does: the name check that replies with the character id, then the creation with that id, then
 * the world; round-robin over every district the config owns.
 */
const SIDES = ['zion', 'machine', 'merovingian'] as const;

async function createPlayers(db: Cluster, tag: string, count: number, worldId: number): Promise<SimPlayerSpec[]> {
  const districts = db.config.shards.flatMap((s) => s.districts);
  const perAccount = 4;
  const specs: SimPlayerSpec[] = [];
  const accounts = Math.ceil(count / perAccount);
  await inBatches(accounts, 4, async (a) => {
    const username = `sim_${tag}_${a}`;
    const password = randomBytes(12).toString('base64url');
    const { accountId } = await db.accounts.register({ username, password });
    for (let i = a * perAccount; i < Math.min(count, (a + 1) * perAccount); i++) {
      const districtId = districts[i % districts.length]!;
      const { characterId } = await db.characters.reserveName(accountId, `Sim${tag}${i}`);
      await db.characters.create({
        accountId,
        characterId,
        archetype: (['hacker', 'spy', 'martial_artist'] as const)[i % 3]!,
        gender: i % 2 ? 'female' : 'male',
        districtId,
      });
      await db.worlds.assignCharacter(characterId, worldId);
      const faction = SIDES[i % SIDES.length]!;
      await db.characters.setFaction(characterId, faction);
      await db.characters.adjustMoney(characterId, 1_000, 'admin_grant');
      specs.push({ accountId, username, password, characterId, districtId, faction });
    }
  });
  return specs.sort((x, y) => x.characterId - y.characterId);
}

async function inBatches(count: number, parallel: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

function split<T>(items: T[], parts: number): T[][] {
  return Array.from({ length: parts }, (_, p) => items.filter((_, i) => i % parts === p));
}

/** Forks a worker process (`mxo-data play-worker`) for a share of the players. */
function runChild(job: WorkerJob, stop: AbortSignal, onMessage: (m: WorkerMessage) => void): Promise<void> {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const child: ChildProcess = fork(cli, ['play-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (m: WorkerMessage) => onMessage(m));
  child.send({ type: 'job', job });
  const onStop = () => child.connected && child.send({ type: 'stop' });
  stop.addEventListener('abort', onStop, { once: true });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      stop.removeEventListener('abort', onStop);
      if (code === 0 || code === null) resolve();
      else reject(new Error(`worker exited with code ${code}`));
    });
  });
}

async function serveMetrics(db: Cluster, port: number): Promise<MetricsServer> {
  try {
    return await startMetricsServer({ registry: db.metrics, port, host: '127.0.0.1' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    return startMetricsServer({ registry: db.metrics, port: 0, host: '127.0.0.1' });
  }
}

/** The live progress line: online players, operations/s, p99, failures, in-doubt, replica lag. */
class Progress {
  private readonly latest = new Map<number, StatsSnapshot>();
  private readonly started = Date.now();
  private failed = 0;

  constructor(
    private readonly db: Cluster,
    private readonly write: (line: string) => void,
  ) {}

  private readonly arrivals = new Map<number, Arrivals>();

  add(worker: number, stats: StatsSnapshot): void {
    this.latest.set(worker, stats);
    this.arrivals.set(worker, stats.arrivals);
    for (const counts of Object.values(stats.ops)) this.failed += counts.failed;
  }

  /** How long the population took to get in: from the first login to the last player in the world. */
  arrivalLine(players: number): string {
    const all = [...this.arrivals.values()];
    const entered = all.reduce((n, a) => n + a.entered, 0);
    const first = Math.min(...all.map((a) => a.firstLoginAt ?? Infinity));
    const last = Math.max(...all.map((a) => a.lastEnteredAt ?? -Infinity));
    if (entered === 0 || !Number.isFinite(first) || !Number.isFinite(last)) return `players in the world: 0 of ${players}`;
    return `players in the world: ${entered} of ${players}, the last ${((last - first) / 1000).toFixed(1)} s after the first login`;
  }

  async print(): Promise<void> {
    const snapshots = [...this.latest.values()];
    this.latest.clear();
    const ops = snapshots.reduce((n, s) => n + Object.values(s.ops).reduce((m, c) => m + c.ok + c.refused + c.failed, 0), 0);
    const online = snapshots.reduce((n, s) => n + s.online, 0);
    const p99 = percentile(
      snapshots.flatMap((s) => s.latencies),
      99,
    );
    const [inDoubt, lag] = await Promise.all([this.db.inDoubtCount().catch(() => -1), replicaLag(this.db)]);
    const elapsed = Math.round((Date.now() - this.started) / 1000);
    this.write(
      `${elapsed}s | online ${online} | ${ops} ops/s | p99 ${p99.toFixed(1)} ms | failed ${this.failed} | in-doubt ${inDoubt < 0 ? '?' : inDoubt} | lag ${lag}`,
    );
  }
}

async function replicaLag(db: Cluster): Promise<string> {
  const metric = await db.metrics.getSingleMetric('mxo_replica_lag_seconds')?.get();
  const values = metric?.values ?? [];
  if (values.length === 0) return '-';
  return values.map((v) => `${String(v.labels.node ?? v.labels.shard)} ${(Number(v.value) * 1000).toFixed(0)}ms`).join(', ');
}

function printSummary(summary: LivingClusterSummary, recovered: number, log: (line: string) => void): void {
  log('\noperation        ok   refused  failed');
  let total = 0;
  for (const [op, c] of Object.entries(summary.ops).sort()) {
    total += c.ok + c.refused + c.failed;
    log(`${op.padEnd(14)} ${String(c.ok).padStart(6)} ${String(c.refused).padStart(9)} ${String(c.failed).padStart(7)}`);
  }
  log(`${total} operations; in-doubt transactions settled at the end: ${recovered}`);
  for (const [failure, n] of Object.entries(summary.failures)) log(`failed: ${failure} x${n}`);
  log(summary.verified ? 'verify: OK (money equals the ledger, every item once, directory and replicas consistent)' : 'verify: FAILED');
  for (const v of summary.violations) log(`  ${v}`);
}
