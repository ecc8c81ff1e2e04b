/**
 * Vitest globalSetup: the CLI and package-export tests run the built package in dist/, so a
 * plain `npx vitest run` would test a stale build. Rebuild dist/ when any file under src/ is
 * newer than the last build, once per run, serialized across concurrent runs by a lock dir.
 * Runs that name only files which never touch dist/ skip the build (a shared machine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USES_DIST = [
  'test/cli.test.ts',
  'test/cli-ops.test.ts',
  'test/cli-admin-level.test.ts',
  'test/package-exports.test.ts',
  'test/failover.test.ts',
  'test/failover-global.test.ts',
  'test/play.test.ts',
  'test/workload-dockerfile.test.ts',
];
// tsc rewrites every output file on each build: dist/index.js's mtime is the build time.
const STAMP = path.join(ROOT, 'dist', 'index.js');
const LOCK = path.join(ROOT, '.dist-build.lock');

export default async function setup(): Promise<void> {
  if (!runIncludesDistTests()) return;
  await withLock(() => {
    if (!stale()) return;
    // From an empty dist/, as `npm run build` does: a module that was renamed or split leaves no stale declaration behind.
    rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
    } catch (error) {
      // tsc still emits on type errors (the typecheck is its own CI step); a build that emitted
      // nothing is fatal.
      if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) throw error;
      console.warn('globalSetup: tsc reported errors; dist/ was emitted anyway');
    }
  });
}

/** Positional CLI filters select files by substring; none given means every file. */
function runIncludesDistTests(): boolean {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === 'run' || a === 'watch' || a === 'related');
  const filters = args.slice(at + 1).filter((a) => !a.startsWith('-') && !/^\d+$/.test(a));
  if (filters.length === 0) return true;
  return filters.some((f) =>
    USES_DIST.some((file) => file.includes(f.replace(/^\.\//, '')) || path.resolve(ROOT, file) === path.resolve(f)),
  );
}

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return max;
}

function stale(): boolean {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  return newest(path.join(ROOT, 'src')) > built || statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs > built;
}

async function withLock(fn: () => void): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed run is older than any real build.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`globalSetup: ${LOCK} held too long`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
