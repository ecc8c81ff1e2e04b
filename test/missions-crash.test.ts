/**
 * missions.complete under kill -9 of the shard primary at random moments, driven by a child
 * process that retries until every character has an answer. Afterwards each character has all of
 * the reward or none of it, never part, never twice (read with plain SQL on the shard).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const CHILD = fileURLToPath(new URL('./support/missions-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PER_ROUND = 20;

let t: TestCluster;
let outDir: string;
let missionId: number;
let templateId: number;
let accountId: number;

beforeAll(async () => {
  t = await startTestCluster({
    shards: 2,
    replicasPerShard: 0,
    config: { pool: { downBackoffMs: 100, connectTimeoutMs: 1_000, acquireTimeoutMs: 3_000 } },
  });
  outDir = mkdtempSync(path.join(os.tmpdir(), 'mxo-missions-child-'));
  accountId = (await t.db.accounts.register({ username: 'morpheus', email: 'morpheus@zion.example', password: 'red-pill-3' })).accountId;
  templateId = await t.db.items.defineTemplate({ itemName: 'Red Pill', itemType: 'consumable' });
  missionId = await t.db.missions.defineTemplate({
    missionName: 'Wake Up',
    missionType: 'daily',
    objectives: [{ description: 'Follow the white rabbit' }],
    experienceReward: 100,
    moneyReward: 100,
    itemRewards: [{ templateId }],
    factionStandingRewards: { zion: 10 },
  });
});
afterAll(async () => t?.stop());

const events = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; characterId?: number; alreadyCompleted?: boolean })
    : [];

/** Every reward row of each character, counted on the shard. */
async function rewardsOf(ids: number[]): Promise<Map<number, number[]>> {
  const conn = await t.sql('alpha-primary');
  const out = new Map<number, number[]>();
  for (const id of ids) {
    const [[r]] = await conn.query<RowDataPacket[]>(
      `SELECT c.experience, c.money,
              (SELECT COUNT(*) FROM character_inventory WHERE character_id = c.character_id) AS items,
              (SELECT COUNT(*) FROM transaction_history WHERE to_character_id = c.character_id) AS ledger,
              (SELECT COUNT(*) FROM mission_history WHERE character_id = c.character_id) AS history,
              (SELECT COALESCE(SUM(standing_points), 0) FROM character_faction_standings WHERE character_id = c.character_id) AS standing,
              (SELECT missions_completed FROM character_statistics WHERE character_id = c.character_id) AS completed,
              (SELECT mission_status = 'completed' FROM character_missions WHERE character_id = c.character_id) AS status
         FROM characters c WHERE c.character_id = ?`,
      [id],
    );
    out.set(id, Object.values(r!).map(Number));
  }
  return out;
}

const NONE = [0, 0, 0, 0, 0, 0, 0, 0];
const ALL = [100, 100, 1, 1, 1, 10, 1, 1];

describe('missions.complete under kill -9 of the shard primary', () => {
  for (const round of [1, 2, 3]) {
    it(`round ${round}: all of the reward or none, never twice`, async () => {
      const ids: number[] = [];
      for (let i = 0; i < PER_ROUND; i++) {
        const cid = (
          await t.db.characters.create({ accountId, name: `Crash${round}x${i}`, archetype: 'spy', gender: 'male', districtId: 1 })
        ).characterId;
        await t.db.missions.accept(cid, missionId);
        await t.db.missions.progress(cid, missionId, 0);
        ids.push(cid);
      }
      const outFile = path.join(outDir, `round-${round}.jsonl`);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, JSON.stringify({ configPath: t.configPath, outFile, missionId, characterIds: ids })],
        {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // A random moment: after 1..PER_ROUND/2 answers (the ones in flight are cut mid-transaction).
      const killAfter = 1 + Math.floor(Math.random() * (PER_ROUND / 2));
      while (events(outFile).filter((e) => e.event === 'result').length < killAfter) {
        if (child.exitCode !== null) throw new Error(`child exited early: ${stderr}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      await t.sandbox.kill('alpha-primary');
      await t.sandbox.restart('alpha-primary');
      // Right after the restart (the child still running): each character has all or nothing.
      for (const [id, r] of await rewardsOf(ids)) expect([NONE, ALL], `character ${id}: ${r}`).toContainEqual(r);
      expect(await exited, stderr).toBe(0);

      const log = events(outFile);
      expect(log.some((e) => e.event === 'error')).toBe(true); // the kill did cut in
      const answered = log.filter((e) => e.event === 'result');
      expect(new Set(answered.map((e) => e.characterId))).toEqual(new Set(ids));
      const rewards = await rewardsOf(ids);
      for (const id of ids) expect([NONE, ALL], `character ${id}: ${rewards.get(id)}`).toContainEqual(rewards.get(id));
      // Every character answered completed, so every one has exactly one payout.
      expect([...rewards.values()].every((r) => JSON.stringify(r) === JSON.stringify(ALL))).toBe(true);
      // And one more retry from here pays nothing.
      for (const id of ids) expect((await t.db.missions.complete(id, missionId)).alreadyCompleted).toBe(true);
      expect(await rewardsOf(ids)).toEqual(rewards);
    });
  }
});
