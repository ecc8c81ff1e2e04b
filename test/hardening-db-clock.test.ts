import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openCluster, type Cluster } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { seedCharacters } from './support/twopc-world.js';

let t: TestCluster;
const HOUR = 3_600_000;

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** A coordinator (its own cluster, as another process would be) that stops at 'prepared' for trades. */
async function pausingCoordinator(): Promise<{ db: Cluster; reached: Promise<void>; release: () => void }> {
  const reached = gate();
  const release = gate();
  const db = await openCluster(t.config, {
    hooks: {
      onPhase: async (phase, info) => {
        if (phase !== 'prepared' || info.operation !== 'trade') return;
        reached.open();
        await release.opened;
      },
    },
  });
  return { db, reached: reached.opened, release: release.open };
}

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
}, 120_000);
afterEach(() => vi.useRealTimers());
afterAll(async () => t?.stop());

describe('recovery measures ages on the database clock, not on each host', () => {
  it('a recovering host whose clock runs an hour ahead leaves a young, live transaction alone', async () => {
    const { characters } = await seedCharacters(t.db, { districts: [1, 4], count: 2, money: 100, itemsEach: 0, prefix: 'ck' });
    const [a, b] = characters;
    const coordinator = await pausingCoordinator();
    try {
      const trade = coordinator.db.trades.execute({ initiator: { characterId: a!.id, money: 10 }, recipient: { characterId: b!.id } });
      await coordinator.reached;
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + HOUR);
      const report = await t.db.recover();
      vi.useRealTimers();
      expect(report.rolledBack).toEqual([]);
      expect(report.pending.length).toBeGreaterThan(0);
      coordinator.release();
      expect((await trade).crossShard).toBe(true);
    } finally {
      vi.useRealTimers();
      coordinator.release();
      await coordinator.db.close();
    }
  });

  it('a coordinator whose clock runs an hour behind is not mistaken for one from before a server restart', async () => {
    const { characters } = await seedCharacters(t.db, { districts: [1, 4], count: 2, money: 100, itemsEach: 0, prefix: 'cb' });
    const [a, b] = characters;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - HOUR);
    const coordinator = await pausingCoordinator();
    try {
      // Its pools are open (their clock offsets measured) before it stamps a transaction.
      await coordinator.db.characters.get(a!.id, { consistency: 'strong' });
      await coordinator.db.characters.get(b!.id, { consistency: 'strong' });
      const trade = coordinator.db.trades.execute({ initiator: { characterId: a!.id, money: 10 }, recipient: { characterId: b!.id } });
      await coordinator.reached;
      vi.useRealTimers();
      const report = await t.db.recover();
      expect(report.rolledBack).toEqual([]);
      expect(report.pending.length).toBeGreaterThan(0);
      coordinator.release();
      expect((await trade).crossShard).toBe(true);
    } finally {
      vi.useRealTimers();
      coordinator.release();
      await coordinator.db.close();
    }
  });
});
