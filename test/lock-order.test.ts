/**
 * The one global lock order (src/routing/lock-order.ts), on real servers:
 * - shards named `a_1` and `a1` (where `localeCompare` and `<` disagree): a buddy add and a
 *   trade between the same two characters, started together a few hundred times, never wait on
 *   each other across servers (no lock-wait timeout, no ConflictError);
 * - src/ holds no other comparator that orders shard locks.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError } from '../src/index.js';
import { compareShardKeys, shardsInLockOrder } from '../src/routing/lock-order.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const SRC = path.resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('only routing/lock-order.ts orders shard locks', () => {
  it('finds no other comparator of shard names or sort of shard keys in src/', () => {
    // What a hand-written lock order looks like: shard names compared with < or >, localeCompare
    // on anything named shard, or a bare .sort() of shard keys.
    const patterns = [
      /\bshard\w*\s*[<>]=?\s*\w/i,
      /\w\.shard\s*[<>]/,
      /localeCompare/,
      /shard[\w\]\)]*.*\.sort\(\s*\)/i,
      /\.sort\(\)[^\n]*shard/i,
    ];
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file.endsWith(path.join('routing', 'lock-order.ts'))) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.trim().startsWith('*') || line.trim().startsWith('//')) return;
          if (patterns.some((p) => p.test(line))) offenders.push(`${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('orders a1 before a_1 (code units), unlike localeCompare', () => {
    expect(compareShardKeys('a1', 'a_1')).toBeLessThan(0);
    expect('a_1'.localeCompare('a1')).toBeLessThan(0); // the order a locale comparator would take
  });

  it('puts global after every shard, even one whose name sorts after it', () => {
    expect(shardsInLockOrder(['zeta', 'global', 'alpha', 'a_1'])).toEqual(['a_1', 'alpha', 'zeta', 'global']);
    expect(compareShardKeys('global', 'global')).toBe(0);
  });
});

describe('shards a_1 and a1: a buddy add and a trade at once', () => {
  let t: TestCluster;

  beforeAll(async () => {
    t = await startTestCluster({
      shards: 2,
      replicasPerShard: 0,
      shardNames: ['a_1', 'a1'],
      // A cross-server wait InnoDB cannot see ends at the lock-wait timeout as a ConflictError.
      config: { pool: { max: 16, lockWaitTimeoutSec: 2 }, twoPhase: { deadlockRetries: 8 } },
    });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('never deadlocks across servers in a few hundred rounds', async () => {
    const db = t.db;
    const { accountId } = await db.accounts.register({ username: 'lockorder', email: 'lockorder@example.com', password: 'password123' });
    const a = await db.characters.create({ accountId, name: 'Underscore', archetype: 'hacker', gender: 'female', districtId: 1 });
    const b = await db.characters.create({ accountId, name: 'Digit', archetype: 'hacker', gender: 'male', districtId: 4 });
    expect([a.shard, b.shard]).toEqual(['a_1', 'a1']);
    await db.characters.adjustMoney(a.characterId, 1_000, 'admin_grant');
    await db.characters.adjustMoney(b.characterId, 1_000, 'admin_grant');

    const errors: string[] = [];
    const note = (error: unknown) => {
      errors.push(error instanceof MxoError ? `${error.code}: ${error.message}` : String(error));
    };
    const rounds = 300;
    for (let i = 0; i < rounds; i++) {
      // Each round: the buddy add locks both rows (and global), the trade both rows, started at once;
      // the buddy side alternates so both characters take each role.
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      await Promise.all([
        db.social.addBuddy(from.characterId, to === a ? 'Underscore' : 'Digit').catch(note),
        db.trades
          .execute({ initiator: { characterId: to.characterId, money: 1 }, recipient: { characterId: from.characterId } })
          .catch(note),
      ]);
      if (errors.length >= 3) break; // red already: no need to sit out the remaining lock-wait timeouts
    }
    expect(errors).toEqual([]);
    const money = await Promise.all([a, b].map(async (c) => (await db.characters.get(c.characterId))!.money));
    expect(money[0]! + money[1]!).toBe(2_000);
  }, 300_000);
});
