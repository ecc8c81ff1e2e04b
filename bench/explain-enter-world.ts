/**
 * `npx tsx bench/explain-enter-world.ts`: the server's own account of the enter-world statements
 * (`ANALYZE FORMAT=JSON`, MariaDB 10.11) for one character and for a batch of eight, on a
 * one-shard sandbox whose characters carry items, abilities, reputations, a crew and buddies:
 * r_total_time_ms per statement and per character, and whether any part runs as a dependent
 * (correlated) subquery, a temporary table or a filesort.
 */
import type mysql from 'mysql2/promise';
import { withBenchCluster } from './bench-cluster.js';
import { CHARACTER_COLUMNS } from '../src/systems/characters/character-columns.js';
import { loadGlobalStatement, loadShardStatement } from '../src/systems/characters/character-load.js';
import { spawnGlobalStatement, spawnShardStatement } from '../src/systems/characters/character-spawn.js';

/** The statements of get, spawn and load for `keys`, with the node each runs on. */
function statementsFor(keys: number[]): Array<{ name: string; node: 'shard' | 'global'; sql: string; params: number[] }> {
  return [
    {
      name: 'get',
      node: 'shard',
      sql: `SELECT ${CHARACTER_COLUMNS}, deleted_at FROM characters WHERE character_id IN (${keys.map(() => '?').join(', ')})`,
      params: keys,
    },
    { name: 'spawn, shard', node: 'shard', ...spawnShardStatement(keys) },
    { name: 'spawn, global', node: 'global', ...spawnGlobalStatement(keys) },
    { name: 'load, shard', node: 'shard', ...loadShardStatement(keys) },
    { name: 'load, global', node: 'global', ...loadGlobalStatement(keys) },
  ];
}

await withBenchCluster({ shards: 1, replicasPerShard: 0 }, { pool: { max: 4 } }, async ({ db, connect }) => {
  const { accountId } = await db.accounts.register({ username: 'explain', email: 'explain@zion.example', password: 'bench-pass-1' });
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) {
    const { characterId } = await db.characters.create({ accountId, name: `Explain${i}`, archetype: 'spy', gender: 'male', districtId: 1 });
    ids.push(characterId);
  }
  const goid = 0x8a0f0042;
  await db.items.defineTemplate({ itemName: 'Coat', itemType: 'clothing', itemSubtype: 'coat', clientObjectId: goid });
  for (const [k, id] of ids.entries()) {
    for (let s = 0; s < 3; s++) await db.inventory.grantByClientId(id, goid, { slot: s + 1, count: 1, purity: 100 + k });
    await db.factions.adjustReputation(id, 'niobe', k + 1);
  }
  const { crewId } = await db.crews.create({ captainId: ids[0]!, crewName: 'Explained' });
  for (const id of ids.slice(1, 4)) await db.crews.join(crewId, id);
  for (const id of ids.slice(1)) await db.social.addBuddy(ids[0]!, `Explain${ids.indexOf(id)}`);
  const nodes: Record<'shard' | 'global', mysql.Connection> = {
    shard: await connect('alpha-primary'),
    global: await connect('global-primary'),
  };
  for (const keys of [ids.slice(0, 1), ids]) {
    for (const { name, node, sql, params } of statementsFor(keys)) {
      // Twice: the first run warms the buffer pool and the plan; the second is reported.
      await nodes[node].query(`ANALYZE FORMAT=JSON ${sql}`, params);
      const [[row]] = (await nodes[node].query(`ANALYZE FORMAT=JSON ${sql}`, params)) as unknown as [[Record<string, string>]];
      const plan = Object.values(row!)[0]!;
      if (process.env.MXO_EXPLAIN_DUMP === name) console.log(plan);
      const { optimization, execution } = timesOf(JSON.parse(plan) as Plan);
      const flags = ['dependent subquery', 'temporary_table', 'filesort'].filter((f) => plan.toLowerCase().includes(f));
      console.log(
        `${name.padEnd(16)} ${String(keys.length).padStart(2)} character(s): executed in ${execution.toFixed(3)} ms ` +
          `(${(execution / keys.length).toFixed(3)} ms each), optimized in ${optimization.toFixed(3)} ms` +
          `${flags.length ? `; plan has ${flags.join(', ')}` : ''}`,
      );
    }
  }
});

interface Block {
  r_total_time_ms?: number;
  union_result?: { query_specifications: Array<{ query_block: Block }> };
}
interface Plan {
  query_optimization?: { r_total_time_ms: number };
  query_block: Block;
}

/** The optimizer's time, and the execution time: the statement's block, or the sum of a UNION's blocks. */
function timesOf(plan: Plan): { optimization: number; execution: number } {
  const block = plan.query_block;
  const execution =
    block.r_total_time_ms ??
    (block.union_result?.query_specifications ?? []).reduce((sum, q) => sum + (q.query_block.r_total_time_ms ?? 0), 0);
  return { optimization: plan.query_optimization?.r_total_time_ms ?? 0, execution };
}
