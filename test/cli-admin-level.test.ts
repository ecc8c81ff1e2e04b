/**
 * `mxo-data admin-level USERNAME LEVEL --config F` as operators run it (dist/cli.js), against a
 * real cluster: exit 0 and the level stored; non-zero naming what failed on stderr otherwise
 * (an unknown username, a level outside accounts.admin_level, a malformed username, usage).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve('dist/cli.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let t: TestCluster;
beforeAll(async () => {
  // As mxo_app, the account a console runs as; the config file names MXO_APP_PASSWORD, inherited by the child.
  t = await startTestCluster({ shards: 1, replicasPerShard: 0 });
});
afterAll(async () => t?.stop());

const levelOf = async (accountId: number) =>
  Number(
    (
      await (await t.sql('global-primary')).query<RowDataPacket[]>('SELECT admin_level FROM accounts WHERE account_id = ?', [accountId])
    )[0][0]!.admin_level,
  );

describe('mxo-data admin-level', () => {
  it('sets the level of a username (exit 0), and names an unknown username, a bad level or username on stderr', async () => {
    const { accountId } = await t.db.accounts.register({ username: 'Niobe', password: 'logos-captain' });
    const config = ['--config', t.configPath];

    const set = await cli(['admin-level', 'niobe', '2', ...config]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/account Niobe \(\d+\): admin level 0 -> 2/);
    expect(await levelOf(accountId)).toBe(2);
    expect((await cli(['admin-level', 'Niobe', '0', ...config])).stdout).toMatch(/admin level 2 -> 0/);
    expect(await levelOf(accountId)).toBe(0);

    const unknown = await cli(['admin-level', 'ghost', '1', ...config]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown username "ghost"/);

    const tooHigh = await cli(['admin-level', 'niobe', '128', ...config]);
    expect(tooHigh.code).toBe(1);
    expect(tooHigh.stderr).toMatch(/level.*127/);
    const badName = await cli(['admin-level', 'ni obe', '1', ...config]);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/username/);
    expect(await levelOf(accountId)).toBe(0);

    // Usage mistakes: exit 2 with the help text.
    expect(await cli(['admin-level', 'niobe', '-1', ...config])).toMatchObject({ code: 2 });
    expect(await cli(['admin-level', 'niobe', 'gm', ...config])).toMatchObject({ code: 2, stderr: expect.stringMatching(/LEVEL must be/) });
    expect(await cli(['admin-level', 'niobe', ...config])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/admin-level USERNAME LEVEL/),
    });
  });
});
