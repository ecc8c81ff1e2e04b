/**
 * sandbox.restart() after a crash of mariadbd while it starts: one more start (as a supervisor
 * would do), not for a server that refuses to start. mariadbd is wrapped by a script that,
 * while told to, dies of SIGABRT or exits 1 instead of starting, and logs every start.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { useTempDirs } from './support/temp-dirs.js';

const dir = useTempDirs()('mxo-sandbox-crash-');
const plan = path.join(dir, 'plan'); // "abort N" or "exit N": that many starts fail so
const starts = path.join(dir, 'starts.log');
let sb: Sandbox;

beforeAll(async () => {
  const real = (await import('node:child_process'))
    .execFileSync('sh', ['-c', 'command -v mariadbd || command -v mysqld'])
    .toString()
    .trim();
  const wrapper = path.join(dir, 'mariadbd');
  await writeFile(
    wrapper,
    `#!/bin/sh
[ "$1" = "--version" ] && exec '${real}' "$@"
echo start >> '${starts}'
if [ -s '${plan}' ]; then
  read what n < '${plan}'
  if [ "$n" -gt 0 ]; then
    echo "$what $((n - 1))" > '${plan}'
    [ "$what" = abort ] && kill -ABRT $$
    exit 1
  fi
fi
exec '${real}' "$@"
`,
  );
  await chmod(wrapper, 0o755);
  process.env.MXO_MARIADBD = wrapper;
  sb = await startSandbox({ shards: 1, replicasPerShard: 0, globalReplicas: 0 });
}, 120_000);

afterAll(async () => {
  delete process.env.MXO_MARIADBD;
  await sb?.stop();
});

const startsLogged = async () => (await readFile(starts, 'utf8')).trim().split('\n').length;

async function answers(): Promise<boolean> {
  const n = sb.node('alpha-primary');
  const conn = await mysql.createConnection({ host: n.host, port: n.port, user: 'root' });
  try {
    const [rows] = await conn.query('SELECT 1 AS one');
    return (rows as Array<{ one: number }>)[0]?.one === 1;
  } finally {
    await conn.end();
  }
}

describe('sandbox restart after kill -9', () => {
  it('starts a server that crashed while starting once more, and says so on stderr', async () => {
    await sb.kill('alpha-primary');
    await writeFile(plan, 'abort 1\n');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const before = await startsLogged();
    let warnings: unknown[][] = [];
    try {
      await sb.restart('alpha-primary');
    } finally {
      warnings = [...warn.mock.calls];
      warn.mockRestore();
    }
    expect((await startsLogged()) - before).toBe(2);
    expect(warnings).toEqual([[expect.stringContaining('alpha-primary crashed while starting; starting it once more')]]);
    expect(await answers()).toBe(true);
  });

  it('gives up after the second crash with a typed error', async () => {
    await sb.kill('alpha-primary');
    await writeFile(plan, 'abort 2\n');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const before = await startsLogged();
    const error = await sb.restart('alpha-primary').then(
      () => undefined,
      (e: unknown) => e,
    );
    warn.mockRestore();
    expect(error).toMatchObject({ code: 'SANDBOX', message: expect.stringContaining('signal SIGABRT') });
    expect((await startsLogged()) - before).toBe(2);
  });

  it('does not retry a server that refuses to start (an exit code, not a crash)', async () => {
    await writeFile(plan, 'exit 1\n');
    const before = await startsLogged();
    const error = await sb.restart('alpha-primary').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'SANDBOX', message: expect.stringContaining('code 1') });
    expect((await startsLogged()) - before).toBe(1);
    await sb.restart('alpha-primary'); // the plan is spent: it starts
    expect(await answers()).toBe(true);
  });
});
