/**
 * A district mover killed (kill -9) at each stage of its move: after recovery the district is
 * whole on exactly one shard, the placement and the fences name that shard, the journal says
 * what happened, verify() is clean, and moving again completes the move.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const CHILD = fileURLToPath(new URL('./support/district-move-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
let t: TestCluster;
let dir: string;
let money = 0;

const rows = async (node: string, sql: string, params: unknown[] = []) =>
  (await (await t.sql(node)).query<RowDataPacket[]>(sql, params))[0];
const count = async (node: string, sql: string, params: unknown[] = []) => Number((await rows(node, sql, params))[0]!.n);

/** Runs the child mover; resolves when it has exited (killed itself, was killed, or finished). */
async function mover(phase: string, to: string, killWhen?: () => Promise<boolean>): Promise<Array<Record<string, unknown>>> {
  const outFile = path.join(dir, `${phase}-${to}-${Date.now()}.jsonl`);
  const plan = { configPath: t.configPath, outFile, phase, district: 2, to };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(plan)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (killWhen) {
    while (child.exitCode === null && child.signalCode === null && !(await killWhen())) await new Promise((r) => setImmediate(r));
    child.kill('SIGKILL');
  }
  await exited;
  const events = existsSync(outFile)
    ? readFileSync(outFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  if (!events.some((e) => e.event === 'ready')) throw new Error(`child never opened the cluster: ${stderr}`);
  return events;
}

/** Recovery until no branch is in doubt (the grace period passes meanwhile), then the journal. */
async function recoverAll(): Promise<void> {
  while ((await t.db.inDoubtCount()) > 0) {
    await t.db.recover();
    await new Promise((r) => setTimeout(r, 100));
  }
  await t.db.admin.recoverMoves();
}

/** The district is whole on exactly one shard, and placement, fences and directory agree. */
async function assertWhole(): Promise<string> {
  const on = {
    alpha: await count('alpha-primary', 'SELECT COUNT(*) AS n FROM characters WHERE district_id = 2'),
    beta: await count('beta-primary', 'SELECT COUNT(*) AS n FROM characters WHERE district_id = 2'),
  };
  const owner = on.alpha > 0 ? 'alpha' : 'beta';
  const other = owner === 'alpha' ? 'beta' : 'alpha';
  expect(on[owner]).toBe(8);
  expect(on[other]).toBe(0);
  expect(await count(`${owner}-primary`, 'SELECT COUNT(*) AS n FROM vendors WHERE district_id = 2')).toBe(1);
  expect(await count(`${other}-primary`, 'SELECT COUNT(*) AS n FROM vendors WHERE district_id = 2')).toBe(0);
  expect(await rows('global-primary', 'SELECT shard_name FROM district_placement WHERE district_id = 2')).toEqual([{ shard_name: owner }]);
  expect(await rows(`${owner}-primary`, 'SELECT state FROM district_fences WHERE district_id = 2')).toEqual([{ state: 'owned' }]);
  expect(await count(`${other}-primary`, "SELECT COUNT(*) AS n FROM district_fences WHERE district_id = 2 AND state = 'owned'")).toBe(0);
  expect(
    await count('global-primary', 'SELECT COUNT(*) AS n FROM character_directory WHERE district_id = 2 AND shard_name = ?', [owner]),
  ).toBe(8);
  expect(await t.db.admin.moves({ unfinished: true })).toEqual([]);
  const total =
    (await count('alpha-primary', 'SELECT SUM(money) AS n FROM characters')) +
    (await count('beta-primary', 'SELECT SUM(money) AS n FROM characters'));
  expect(total).toBe(money);
  expect((await t.db.verify()).violations).toEqual([]);
  await t.db.admin.refreshPlacement();
  expect(t.db.shardOfDistrict(2)).toBe(owner);
  return owner;
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0, as: 'operator' }); // moves run as the operator account
  dir = mkdtempSync(path.join(tmpdir(), 'mxo-dmove-'));
  const { accountId } = await t.db.accounts.register({ username: 'crash', email: 'crash@zion.example', password: 'woman-in-red' });
  const template = await t.db.items.defineTemplate({ itemName: 'Coat', itemType: 'clothing', baseValue: 10 });
  const { vendorId } = await t.db.vendors.define({
    vendorName: 'Coats',
    districtId: 2,
    position: { x: 0, y: 0, z: 0 },
    vendorType: 'general',
    stock: [{ templateId: template, maxStock: 50, basePrice: 10 }],
  });
  for (let i = 0; i < 8; i++) {
    const { characterId } = await t.db.characters.create({
      accountId,
      name: `Crash${i}`,
      archetype: 'hacker',
      gender: 'male',
      districtId: 2,
    });
    await t.db.characters.adjustMoney(characterId, 1000, 'admin_grant');
    await t.db.vendors.buy({ characterId, vendorId, templateId: template });
  }
  money =
    (await count('alpha-primary', 'SELECT SUM(money) AS n FROM characters')) +
    (await count('beta-primary', 'SELECT SUM(money) AS n FROM characters'));
}, 120_000);
afterAll(async () => {
  await t?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a mover killed mid-move', () => {
  it.each([
    ['prepared', 'rolled_back'],
    ['deciding', 'rolled_back'],
    ['decided', 'done'],
    ['committed_branch', 'done'],
  ])(
    'killed at %s: recovery leaves the move %s, the district whole on one shard; moving again finishes it',
    async (phase, expected) => {
      const from = t.db.shardOfDistrict(2);
      const to = from === 'alpha' ? 'beta' : 'alpha';
      const events = await mover(phase, to);
      expect(events.some((e) => e.event === 'phase')).toBe(true);
      await recoverAll();
      const owner = await assertWhole();
      expect(owner).toBe(expected === 'done' ? to : from);
      expect((await t.db.admin.moves())[0]).toMatchObject({ state: expected, from, to });
      if (owner !== to) {
        await t.db.admin.moveDistrict(2, to);
        expect(await assertWhole()).toBe(to);
      }
    },
    120_000,
  );

  it('a frozen mover (its branches prepared) keeps the move in progress: status shows it, recoverMoves leaves it; killed, it rolls back', async () => {
    const from = t.db.shardOfDistrict(2);
    const to = from === 'alpha' ? 'beta' : 'alpha';
    const outFile = path.join(dir, `frozen-${Date.now()}.jsonl`);
    const plan = { configPath: t.configPath, outFile, phase: 'prepared', district: 2, to, action: 'stop' };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(plan)], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      while (!(existsSync(outFile) && readFileSync(outFile, 'utf8').includes('"phase"') && procState(child.pid!) === 'T'))
        await new Promise((r) => setImmediate(r));
      // The frozen mover holds the movers' lease: recoverMoves does not touch its move.
      expect(await t.db.admin.recoverMoves()).toEqual([expect.objectContaining({ state: 'copying', from, to })]);
      expect((await t.db.status()).districtMoves).toEqual([expect.objectContaining({ districtId: 2, from, to })]);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    await recoverAll();
    expect(await assertWhole()).toBe(from);
    expect((await t.db.admin.moves())[0]).toMatchObject({ state: 'rolled_back', from, to });
  }, 120_000);

  it('killed at an arbitrary moment after its journal row: the same holds', async () => {
    const from = t.db.shardOfDistrict(2);
    const to = from === 'alpha' ? 'beta' : 'alpha';
    const before = (await t.db.admin.moves())[0]?.moveId ?? 0;
    await mover('none', to, async () => ((await t.db.admin.moves())[0]?.moveId ?? 0) > before);
    await recoverAll();
    const owner = await assertWhole();
    console.log(`killed right after the journal row: the district ended on ${owner} (${owner === to ? 'moved' : 'rolled back'})`);
  }, 120_000);
});

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(path.join('/proc', String(pid), 'stat'), 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
