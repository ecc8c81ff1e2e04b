/**
 * Label boundedness: the number of series depends on the topology and the code's vocabulary
 * (operations, outcomes, reasons), never on the number of players. The same traffic over 6 and
 * then 36 more characters must not add series per character, and no label value may carry a
 * character id, a name or SQL text.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Character } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

/** Series identities (`name{label="value",...}`) in an exposition, histogram buckets included. */
function seriesOf(exposition: string): Set<string> {
  return new Set(
    exposition
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.slice(0, line.lastIndexOf(' '))),
  );
}

function labelsOf(series: string): Array<[string, string]> {
  const body = /\{(.*)\}$/.exec(series)?.[1] ?? '';
  return [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]);
}

describe('metric labels stay bounded', () => {
  let cluster: TestCluster;
  const registry = new Registry();

  beforeAll(async () => {
    cluster = await startTestCluster({ shards: 2, replicasPerShard: 1, open: { registry } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('does not grow the series count with the number of characters', { timeout: 180_000 }, async () => {
    const { db } = cluster;
    const tag = Math.random().toString(36).slice(2, 8);
    const { accountId } = await db.accounts.register({ username: `labels_${tag}`, email: `labels_${tag}@zion.example`, password: 'follow-the-white-rabbit' });
    const templateId = await db.items.defineTemplate({ itemName: `Coat ${tag}`, itemType: 'clothing' });
    const districts = db.config.shards.flatMap((s) => s.districts);
    const everyone: Character[] = [];

    /** The same calls for every character: create, money, items, reads, trades, moves, online, positions, logs. */
    async function traffic(count: number): Promise<void> {
      const batch: Character[] = [];
      for (let i = 0; i < count; i++) {
        const c = await db.characters.create({
          accountId,
          name: `Lbl_${tag}_${everyone.length + i}`,
          archetype: 'spy',
          gender: 'male',
          districtId: districts[i % districts.length]!,
        });
        batch.push(c);
      }
      everyone.push(...batch);
      for (const [i, c] of batch.entries()) {
        await db.characters.adjustMoney(c.characterId, 1_000, 'quest_reward');
        const item = await db.inventory.grant(c.characterId, { templateId });
        await db.inventory.list(c.characterId);
        for (const consistency of ['strong', 'session', 'eventual'] as const) await db.characters.get(c.characterId, { consistency });
        await db.session(db.token()).characters.get(c.characterId, { consistency: 'session' });
        await db.characters.setOnline(c.characterId, true);
        await db.world.updatePosition(c.characterId, { x: i, y: 2 * i, z: 0 });
        await db.logs.action({ characterId: c.characterId, actionType: 'login' });
        // Trade with the next character (same shard or not), then move within and across shards.
        const other = batch[(i + 1) % batch.length]!;
        await db.trades.execute({
          initiator: { characterId: c.characterId, money: 10, itemIds: [item.itemId] },
          recipient: { characterId: other.characterId, money: 0 },
        });
        await expect(
          db.trades.execute({ initiator: { characterId: c.characterId, money: 1_000_000 }, recipient: { characterId: other.characterId } }),
        ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
        await db.characters.moveToDistrict(c.characterId, districts[(i + 1) % districts.length]!);
        if (i % 2 === 0) await db.characters.setOnline(c.characterId, false);
      }
      await db.world.flush();
      await db.recover();
      await db.waitForReplicas(10_000);
    }

    await traffic(6);
    await db.metrics.metrics(); // the first scrape counts online characters: its own query series
    const small = seriesOf(await db.metrics.metrics());
    await traffic(36);
    const large = seriesOf(await db.metrics.metrics());

    // A label set is one series of a family (a histogram's buckets, sum and count together).
    const labelSets = (series: Set<string>) =>
      new Set([...series].map((line) => line.replace(/_(bucket|sum|count)\{/, '{').replace(/le="[^"]*",?/, '').replace(/,\}$/, '}')));
    const before = labelSets(small);
    const after = labelSets(large);
    // recover() probes replicas for the XA repair runbook only when one looks stuck for a moment
    // (a cross-shard branch in flight): those operations appear by timing, from a fixed vocabulary.
    const added = [...after].filter((s) => !before.has(s) && !/operation="repair_/.test(s));
    const removed = [...before].filter((s) => !after.has(s));
    // 36 more characters (7x as many) must not add series per character. A few label sets may
    // first appear in the second round through timing alone (e.g. a session read that happened to
    // wait for a GTID on a replica): bounded vocabulary, checked below, and far fewer than 36.
    expect(removed).toEqual([]);
    expect(added.length, `label sets added by the second round: ${added.join('\n')}`).toBeLessThanOrEqual(4);
    expect(after.size).toBeLessThan(before.size + 36);

    // No label value names a character, an account or SQL; each label has a bounded source.
    const ids = new Set(everyone.flatMap((c) => [String(c.characterId), c.characterName]));
    ids.add(String(accountId));
    const nodes = new Set(db.pools().map((p) => p.identity.name));
    const shards = new Set(['global', ...db.config.shards.map((s) => s.name)]);
    const configured = new Set(districts.map(String));
    const bad: string[] = [];
    for (const series of large) {
      for (const [name, value] of labelsOf(series)) {
        const ok =
          name === 'le' ? /^(\+Inf|[0-9.e-]+)$/.test(value)
          : name === 'shard' ? shards.has(value)
          : name === 'node' ? nodes.has(value)
          : name === 'district' ? configured.has(value)
          : name === 'role' ? value === 'primary' || value === 'replica'
          : ['operation', 'outcome', 'reason', 'consistency', 'phase', 'action', 'state', 'kind'].includes(name)
            ? /^[a-z][a-z_]{0,40}$/.test(value)
            : false;
        // Bucket bounds and configured districts are numbers that may equal some id by chance.
        const free = name !== 'le' && name !== 'district';
        if (!ok || (free && ids.has(value))) bad.push(`${series}: ${name}="${value}"`);
      }
    }
    expect(bad).toEqual([]);
  });
});
