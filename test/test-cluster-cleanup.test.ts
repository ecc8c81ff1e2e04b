/**
 * The test harness itself: startTestCluster must not leak its servers when opening the cluster
 * fails (every later test run on a shared machine would pay for them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestCluster } from './support/cluster.js';

/** Pids of live processes whose command line mentions `dir` (the sandbox's servers). */
function serversUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe('startTestCluster', () => {
  it('stops the sandbox it started when opening the cluster fails, and rethrows the error', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mxo-harness-'));
    try {
      // An invalid pool size: the sandbox starts fine, openCluster then refuses the config.
      const error = await startTestCluster({ dir, shards: 1, replicasPerShard: 0, config: { pool: { max: -1 } as never } }).catch(
        (e: unknown) => e,
      );
      expect((error as Error)?.name).toBe('ConfigError');
      expect(serversUsing(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
