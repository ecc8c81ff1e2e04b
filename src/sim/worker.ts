import { setMaxListeners } from 'node:events';
import { openCluster } from '../cluster.js';
import { configurePasswordHashing } from '../crypto/password.js';
import type { ClusterConfigInput } from '../config/schema.js';
import type { SimContent } from './content.js';
import { SimPlayer, type SimPlayerSpec } from './player.js';
import { Stats, type StatsSnapshot } from './stats.js';

/** What the parent hands a worker: the cluster, the content, its players and everyone's ids. */
export interface WorkerJob {
  config: ClusterConfigInput | string;
  content: SimContent;
  players: SimPlayerSpec[];
  peers: number[];
  /** Mean pause between one player's actions. */
  thinkMs: number;
  /** Milliseconds between a player's absolute saves. */
  saveEveryMs: number;
  /** Arrivals spread over this many milliseconds, as players log in one by one. */
  arrivalMs: number;
  /** The scrypt cost of the sandbox's simulated accounts (configurePasswordHashing), when lowered. */
  passwordCostLog2?: number;
}

/** Messages a worker sends: stats every second, and `done` after its players logged out. */
export type WorkerMessage =
  { type: 'stats'; stats: StatsSnapshot } | { type: 'done'; stats: StatsSnapshot } | { type: 'error'; message: string };

/**
 * Runs a share of the simulated players against the cluster until `stop` aborts, as one district
 * server process would: its own pools and buffers, its players' own read sessions.
 */
export async function runPlayers(job: WorkerJob, stop: AbortSignal, report: (m: WorkerMessage) => void): Promise<void> {
  // Every player waits on the stop signal between actions: one listener each.
  setMaxListeners(job.players.length + 10, stop);
  if (job.passwordCostLog2 !== undefined) configurePasswordHashing({ costLog2: job.passwordCostLog2 });
  const db = await openCluster(job.config, { env: process.env });
  const stats = new Stats();
  const timer = setInterval(() => report({ type: 'stats', stats: stats.take() }), 1_000);
  // This process stands for one world server: handoff tickets and presence claims name it.
  const serverId = `sim-world-${process.pid}`;
  try {
    const players = job.players.map((spec) => new SimPlayer(spec, db.session(), job.content, job.peers, stats, serverId, job.saveEveryMs));
    await Promise.all(
      players.map(async (player, i) => {
        await pause((i * job.arrivalMs) / players.length, stop);
        if (stop.aborted) return;
        stats.loginStarted();
        const inWorld = await player.enter();
        if (inWorld) {
          stats.online++;
          stats.entered();
        }
        while (inWorld && !stop.aborted) {
          await player.act();
          await player.saveIfDue();
          await pause(job.thinkMs * (0.5 + Math.random()), stop);
        }
        await player.leave();
        if (inWorld) stats.online--;
      }),
    );
  } finally {
    clearInterval(timer);
    await db.close().catch((error: unknown) => report({ type: 'error', message: `close: ${(error as Error).message}` }));
    report({ type: 'done', stats: stats.take() });
  }
}

function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve();
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Entry of a forked worker process (`mxo-data play-worker`): the job arrives as the first message;
 * resolves with the exit code once its players have logged out.
 */
export function runWorkerProcess(): Promise<number> {
  const stop = new AbortController();
  // The parent stopping on Ctrl-C signals the whole process group: stop cleanly, once.
  process.on('SIGINT', () => stop.abort());
  process.on('SIGTERM', () => stop.abort());
  return new Promise((resolve) => {
    process.on('message', (message: { type: 'job'; job: WorkerJob } | { type: 'stop' }) => {
      if (message.type === 'stop') return stop.abort();
      runPlayers(message.job, stop.signal, (m) => process.send?.(m)).then(
        () => resolve(0),
        (error: unknown) => {
          process.send?.({ type: 'error', message: (error as Error).message });
          resolve(1);
        },
      );
    });
  });
}
