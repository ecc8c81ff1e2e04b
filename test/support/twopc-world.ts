/**
 * Seeds characters with money and items for the two-phase-commit tests, and spawns the child
 * coordinator process (test/support/twopc-child.ts) that kills or freezes itself at a phase.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../../src/index.js';

export interface SeededCharacter {
  id: number;
  name: string;
  shard: string;
  districtId: number;
  items: number[];
}

let counter = 0;

/**
 * Creates `perShard` characters on each listed district's shard (round robin over `districts`),
 * each with `money` and `itemsEach` tradeable items. Names are unique per call.
 */
export async function seedCharacters(
  db: Cluster,
  opts: { districts: number[]; count: number; money: number; itemsEach: number; prefix?: string },
): Promise<{ accountId: number; templateId: number; characters: SeededCharacter[] }> {
  const tag = `${opts.prefix ?? 't'}${process.pid % 10000}x${counter++}`;
  const { accountId } = await db.accounts.register({ username: `acct_${tag}`, email: `${tag}@example.com`, password: 'password123' });
  const templateId = await db.items.defineTemplate({ itemName: `Widget ${tag}`, itemType: 'misc', isTradeable: true });
  const characters: SeededCharacter[] = [];
  for (let i = 0; i < opts.count; i++) {
    const districtId = opts.districts[i % opts.districts.length]!;
    const name = `C${tag}n${i}`;
    const ch = await db.characters.create({ accountId, name, archetype: 'hacker', gender: 'female', appearance: {}, districtId });
    if (opts.money > 0) await db.characters.adjustMoney(ch.characterId, opts.money, 'admin_grant');
    const items: number[] = [];
    for (let k = 0; k < opts.itemsEach; k++) items.push((await db.inventory.grant(ch.characterId, { templateId })).itemId);
    characters.push({ id: ch.characterId, name, shard: ch.shard, districtId, items });
  }
  return { accountId, templateId, characters };
}

export const CHILD_SCRIPT = fileURLToPath(new URL('./twopc-child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What the child does: one operation, and what to do to itself at `phase`. */
export interface ChildPlan {
  configPath: string;
  /** File the child appends JSON lines to (phase reached, result, error). */
  outFile: string;
  op:
    | { kind: 'trade'; initiator: { characterId: number; money: number; itemIds: number[] }; recipient: { characterId: number; money: number; itemIds: number[] } }
    | { kind: 'move'; characterId: number; districtId: number };
  phase: 'prepared' | 'deciding' | 'decided' | 'committed_branch';
  /** SIGKILL itself, or SIGSTOP itself (frozen while holding its sessions open). */
  action: 'kill' | 'stop';
}

export interface ChildEvent {
  event: 'phase' | 'result' | 'error' | 'ready';
  phase?: string;
  gtrid?: string;
  key?: string;
  detail?: unknown;
}

export function readChildEvents(outFile: string): ChildEvent[] {
  if (!existsSync(outFile)) return [];
  return readFileSync(outFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ChildEvent);
}

/** Spawns the child coordinator; resolves once it has acted on itself (killed or stopped). */
export async function runChild(plan: ChildPlan, timeoutMs = 30_000): Promise<{ child: ChildProcess; events: ChildEvent[]; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, JSON.stringify(plan)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + timeoutMs;
  if (plan.action === 'kill') {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
      setTimeout(resolve, timeoutMs).unref();
    });
  } else {
    // Frozen: wait for the phase line, then for the process to be in state T (stopped).
    for (;;) {
      const stopped = readChildEvents(plan.outFile).some((e) => e.event === 'phase') && procState(child.pid!) === 'T';
      if (stopped || child.exitCode !== null || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return { child, events: readChildEvents(plan.outFile), stderr };
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(path.join('/proc', String(pid), 'stat'), 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** SIGKILLs a child (also a stopped one) and waits for it to be gone. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}
