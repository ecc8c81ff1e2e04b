/**
 * Bookkeeping of the mariadbd processes this Node process started: a last-chance SIGKILL on exit
 * (and on SIGINT/SIGTERM/SIGHUP, re-raising the signal when nothing else handles it), and helpers
 * to wait for a pid to disappear.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function killAllNow(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}

function onExit(): void {
  killAllNow();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  uninstall();
  // Default behaviour (terminate) unless someone else handles this signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', onExit);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/** Kill `child` with SIGKILL if this process exits while it still runs. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  install();
  child.once('exit', () => untrackChild(child));
}

export function untrackChild(child: ChildProcess): void {
  live.delete(child);
  if (live.size === 0) uninstall();
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Resolves once the child has exited (and been reaped). The child is unref'd while it runs; it is
 * ref'd during the wait so the event loop stays alive until the exit is seen.
 */
export function waitChildExit(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  child.ref();
  return new Promise((resolve) =>
    child.once('exit', () => {
      child.unref();
      resolve();
    }),
  );
}

/** True while a process with this pid exists (zombies included). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Poll until the pid is gone; false on timeout. */
export async function waitPidGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/**
 * Whether `pid` still looks like the server we started (its command line mentions `marker`, e.g.
 * the node's datadir), so a recycled pid is never signalled. Where /proc is missing, trusts the pid.
 */
export function pidMatches(pid: number, marker: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && pidAlive(pid)) return process.platform !== 'linux';
    return false;
  }
  return cmdline.includes(marker);
}
