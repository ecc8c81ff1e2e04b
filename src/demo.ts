import { randomBytes } from 'node:crypto';
import type { Cluster } from './cluster.js';

type Log = (line: string) => void;

/**
 * The demo scenario `npm start` runs: every main call of the library once, printing what it did
 * and on which server each row landed (checked with plain SQL on every node).
 */
export async function runDemoScenario(db: Cluster, log: Log = console.log): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const [first, second] = db.config.shards;
  const homeDistrict = first!.districts[0]!;
  const otherDistrict = (second ?? first)!.districts[0]!;

  const password = randomBytes(12).toString('base64url');
  const { accountId } = await db.accounts.register({ username: `neo_${tag}`, email: `neo_${tag}@zion.example`, password });
  log(`registered account ${accountId} (neo_${tag}) on global`);
  const { sessionToken } = await db.accounts.login({ username: `neo_${tag}`, password, ip: '127.0.0.1' });
  log(`logged in: session token ${sessionToken.slice(0, 8)}... (only its SHA-256 is stored)`);

  const neo = await db.characters.create({ accountId, name: `Neo_${tag}`, archetype: 'hacker', gender: 'male', districtId: homeDistrict });
  const trinity = await db.characters.create({ accountId, name: `Trinity_${tag}`, archetype: 'spy', gender: 'female', districtId: otherDistrict });
  log(`created ${neo.characterName} (id ${neo.characterId}) in district ${homeDistrict} -> shard ${neo.shard}`);
  log(`created ${trinity.characterName} (id ${trinity.characterId}) in district ${otherDistrict} -> shard ${trinity.shard}`);

  const templateId = await db.items.defineTemplate({ itemName: 'Agent Sunglasses', itemType: 'clothing', quality: 'rare' });
  log(`defined item template ${templateId} on global and every shard`);
  const glasses = await db.inventory.grant(neo.characterId, { templateId });
  const coat = await db.inventory.grant(trinity.characterId, { templateId });
  log(`granted item ${glasses.itemId} to ${neo.characterName}, item ${coat.itemId} to ${trinity.characterName} (cluster-unique ids)`);

  const { money } = await db.characters.adjustMoney(neo.characterId, 500, 'quest_reward');
  log(`${neo.characterName} earned 500 (quest_reward): balance ${money}`);

  const sameShardDistrict = first!.districts[1] ?? homeDistrict;
  await db.characters.moveToDistrict(neo.characterId, sameShardDistrict);
  log(`moved ${neo.characterName} to district ${sameShardDistrict} (same shard ${db.shardOfDistrict(sameShardDistrict)})`);

  const trade = await db.trades.execute({
    initiator: { characterId: neo.characterId, money: 100, itemIds: [glasses.itemId] },
    recipient: { characterId: trinity.characterId, money: 0, itemIds: [coat.itemId] },
  });
  log(`trade ${trade.tradeId}: 100 + item ${glasses.itemId} for item ${coat.itemId} (${trade.crossShard ? `cross-shard, XA ${trade.transactionId}` : 'same shard'})`);

  log('\nwhere each row lives (plain SQL on every node):');
  const characterRow = (c: { characterName: string; characterId: number }) =>
    ({ what: `character ${c.characterName}`, table: 'characters', column: 'character_id', id: c.characterId, database: 'shard' }) as const;
  await printPlacement(db, [
    { what: `account ${accountId}`, table: 'accounts', column: 'account_id', id: accountId, database: 'global' },
    characterRow(neo),
    characterRow(trinity),
    { what: `item ${glasses.itemId} (traded)`, table: 'character_inventory', column: 'item_id', id: glasses.itemId, database: 'shard' },
    { what: `item ${coat.itemId} (traded)`, table: 'character_inventory', column: 'item_id', id: coat.itemId, database: 'shard' },
    { what: `template ${templateId}`, table: 'item_templates', column: 'template_id', id: templateId, database: 'any' },
  ], log);

  if (second) {
    const moved = await db.characters.moveToDistrict(trinity.characterId, homeDistrict);
    log(`\nmoved ${trinity.characterName} to district ${homeDistrict}: shard ${trinity.shard} -> ${moved.shard}, same id, items kept`);
    await printPlacement(db, [characterRow(trinity)], log);
  }

  const [n, t] = await Promise.all([db.characters.get(neo.characterId), db.characters.get(trinity.characterId)]);
  log(`\n${n.characterName}: money ${n.money}, shard ${n.shard}; ${t.characterName}: money ${t.money}, shard ${t.shard}`);
}

async function printPlacement(
  db: Cluster,
  rows: Array<{ what: string; table: string; column: string; id: number; database: 'global' | 'shard' | 'any' }>,
  log: Log,
): Promise<void> {
  // Replicas get the rows through replication: wait for them so the table shows the steady state.
  await db.waitForReplicas(5_000);
  const pools = db.pools();
  for (const row of rows) {
    const found: string[] = [];
    for (const pool of pools) {
      const tier = pool.identity.shard === 'global' ? 'global' : 'shard';
      if (row.database !== 'any' && row.database !== tier) continue;
      const present = await pool
        .use('demo_probe', async (conn) => {
          const hit = await conn.rows(`SELECT 1 FROM ${row.table} WHERE ${row.column} = ?`, [row.id]);
          return hit.length > 0;
        })
        .catch(() => false);
      if (present) found.push(pool.identity.name);
    }
    log(`  ${row.what.padEnd(28)} ${found.join(', ') || '(nowhere yet)'}`);
  }
}

/** Keeps generating traffic (for dashboards) until `signal` aborts. */
export async function runDemoLoop(db: Cluster, signal: AbortSignal, log: Log = console.log): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const password = randomBytes(12).toString('base64url');
  const { accountId } = await db.accounts.register({ username: `load_${tag}`, email: `load_${tag}@zion.example`, password });
  const districts = db.config.shards.flatMap((s) => s.districts);
  const templateId = await db.items.defineTemplate({ itemName: 'Red Pill', itemType: 'consumable' });
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) {
    const c = await db.characters.create({
      accountId, name: `Load_${tag}_${i}`, archetype: 'spy', gender: 'female', districtId: districts[i % districts.length]!,
    });
    await db.characters.adjustMoney(c.characterId, 10_000, 'admin_grant');
    await db.inventory.grant(c.characterId, { templateId });
    ids.push(c.characterId);
  }
  let rounds = 0;
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  while (!signal.aborted) {
    const a = pick();
    let b = pick();
    while (b === a) b = pick();
    await db.trades
      .execute({ initiator: { characterId: a, money: 1 + Math.floor(Math.random() * 10), itemIds: [] }, recipient: { characterId: b, money: 0, itemIds: [] } })
      .catch(() => undefined);
    await db.characters.get(a, { consistency: rounds % 2 ? 'eventual' : 'session' }).catch(() => undefined);
    // High-frequency traffic through the write-behind buffers, and online flags for the dashboard.
    await db.world.updatePosition(a, { x: Math.random() * 100, y: 0, z: Math.random() * 100 }).catch(() => undefined);
    await db.logs.action({ characterId: a, actionType: 'trade' }).catch(() => undefined);
    if (rounds % 10 === 0) await db.characters.setOnline(a, Math.random() < 0.7).catch(() => undefined);
    if (rounds % 20 === 0) {
      await db.characters.moveToDistrict(a, districts[Math.floor(Math.random() * districts.length)]!).catch(() => undefined);
    }
    if (++rounds % 100 === 0) log(`demo loop: ${rounds} rounds`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
