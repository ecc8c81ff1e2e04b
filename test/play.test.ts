import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load-config.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/cli.js');

describe('mxo-data play (npm start): the living cluster', () => {
  it('runs players in two processes through every game system, then verifies the cluster', async () => {
    const args = [CLI, 'play', '--players', '8', '--processes', '2', '--duration', '15', '--think-ms', '50', '--metrics-port', '0'];
    const { stdout } = await run(process.execPath, args, { timeout: 170_000 }).catch((error: { stdout?: string; stderr?: string }) => {
      // Show what the run printed (the summary names failed operations and violations).
      throw new Error(`play failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    });
    // The players ran as the application account, not root.
    expect(stdout).toMatch(/^database account: mxo_app \(least-privilege accounts created for this sandbox\)$/m);
    expect(stdout).toMatch(/metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/);
    // The sandbox owns the client's districts as the shipped config splits them.
    const shipped = (await loadConfigFile('shards.config.ts')) as { shards: Array<{ districts: number[] }> };
    expect(stdout).toContain(`creating 8 players across districts ${shipped.shards.flatMap((s) => s.districts).join(', ')}...`);
    expect(stdout).toMatch(/\| online \d+ \| \d+ ops\/s \| p99 [\d.]+ ms \| failed 0 \| in-doubt \d+ \| lag /);
    // Every system was exercised, and nothing failed (refusals by game rules are fine).
    const rows = new Map(
      [...stdout.matchAll(/^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)$/gm)].map((m) => [m[1]!, { ok: Number(m[2]), failed: Number(m[4]) }]),
    );
    for (const op of [
      'login',
      'roster',
      'select',
      'enter_world',
      'save',
      'move',
      'chat',
      'fight',
      'mission',
      'buy',
      'trade_window',
      'trade',
      'hardline',
      'logout',
    ]) {
      expect(rows.get(op)?.ok, op).toBeGreaterThan(0);
    }
    expect([...rows.values()].every((r) => r.failed === 0)).toBe(true);
    // The emulators' flow: every player got into the world (handoff, claim, spawn).
    expect(stdout).toMatch(/^players in the world: 8 of 8, the last [\d.]+ s after the first login$/m);
    expect(stdout).toMatch(/^simulated accounts hash passwords at scrypt ln=12 \(sandbox only/m);
    expect(stdout).toMatch(/verify: OK/);
    expect(stdout).toMatch(/sandbox stopped/);
  }, 180_000);
});
