import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MxoError } from '../src/index.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

// Every public method of every repository, driven with random wrong inputs (types, ranges,
// lengths, unicode, unknown keys, ids of things that do not exist): the answer is always a typed
// MxoError (never a raw driver error, never a crash), and nothing is written anywhere (the row
// count of every table on every node is the same before and after).
let t: TestCluster;
const NODES = ['global-primary', 'alpha-primary', 'beta-primary'];
let conns: Connection[];

beforeAll(async () => {
  t = await startTestCluster({ shards: 2, replicasPerShard: 0 });
  conns = await Promise.all(NODES.map((n) => t.sql(n)));
  // A little real data, so that wrong ids sit next to right ones.
  const { accountId } = await t.db.accounts.register({ username: 'fuzzed', email: 'fuzz@zion.example', password: 'fuzz-pass-1' });
  const c = await t.db.characters.create({ accountId, name: 'Fuzzy', archetype: 'spy', gender: 'female', districtId: 1 });
  await t.db.characters.adjustMoney(c.characterId, 100, 'admin_grant');
  await t.db.world.flush();
}, 120_000);
afterAll(async () => t?.stop());

/** Row counts of every base table on every node (the log tables included). */
async function snapshot(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [i, conn] of conns.entries()) {
    const [tables] = (await conn.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
    )) as unknown as [Array<{ t: string }>];
    for (const { t: table } of tables) {
      // Bookkeeping the library writes for itself, not for the caller.
      if (['schema_migrations', 'id_sequences', 'maintenance_runs', 'login_throttle'].includes(table)) continue;
      const [[row]] = (await conn.query(`SELECT COUNT(*) AS n FROM \`${table}\``)) as unknown as [[{ n: number }]];
      counts[`${NODES[i]}.${table}`] = Number(row.n);
    }
  }
  return counts;
}

/** Values no public parameter accepts, or ids of things that do not exist. */
const wrong = fc.oneof(
  fc.constantFrom(null, undefined, NaN, Infinity, -Infinity, -1, 0, 1.5, 2 ** 60, -(2 ** 31), '', ' ', '💊'.repeat(70_000), true, [], {}),
  fc.integer({ min: 900_000_000, max: 2_000_000_000 }), // ids nobody has
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 1 }), { maxKeys: 4 }),
  fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 4 }),
  fc.double({ noNaN: false }),
);

/** Methods that take no caller input, or only read the cluster: nothing to validate. */
const SKIP = new Set(['constructor', 'flush', 'rollUp', 'expireWindows', 'purgeExpiredSessions', 'releaseExpired', 'list', 'token']);

/**
 * The public methods of each class, read from the built declarations (dist/, which `npm test`
 * builds): TypeScript's `private` members are plain properties at run time.
 */
function publicApi(): Map<string, Set<string>> {
  const api = new Map<string, Set<string>>();
  const files = (readdirSync('dist/systems', { recursive: true }) as string[]).filter((f) => f.endsWith('.d.ts'));
  for (const file of files) {
    let current: string | undefined;
    for (const line of readFileSync(`dist/systems/${file}`, 'utf8').split('\n')) {
      const cls = /^export declare class (\w+)/.exec(line);
      if (cls) api.set((current = cls[1]!), new Set());
      const method = /^    (\w+)(<[^(]*>)?\(/.exec(line);
      if (current && method && method[1] !== 'constructor') api.get(current)!.add(method[1]!);
    }
  }
  return api;
}

function publicMethods(): Array<{ name: string; call: (args: unknown[]) => unknown }> {
  const api = publicApi();
  const methods: Array<{ name: string; call: (args: unknown[]) => unknown }> = [];
  const db = t.db as unknown as Record<string, Record<string, unknown>>;
  for (const [repo, target] of Object.entries(db)) {
    if (!target || typeof target !== 'object') continue;
    // The class and the classes it extends (a repository may be split over files by concept).
    const names = new Set<string>();
    for (let proto = Object.getPrototypeOf(target); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const name of api.get(proto.constructor.name) ?? []) names.add(name);
    }
    for (const name of names) {
      const fn = target[name];
      if (typeof fn !== 'function' || SKIP.has(name)) continue;
      methods.push({ name: `${repo}.${name}`, call: (args) => (fn as (...a: unknown[]) => unknown).apply(target, args) });
    }
  }
  return methods;
}

describe('bad input, everywhere', () => {
  it('every public method answers wrong input with a typed error and writes nothing', async () => {
    const methods = publicMethods();
    expect(methods.length).toBeGreaterThan(80);
    const before = await snapshot();
    const untyped: string[] = [];
    for (const method of methods) {
      await fc.assert(
        fc.asyncProperty(fc.array(wrong, { minLength: 1, maxLength: 3 }), async (args) => {
          try {
            await method.call(args);
          } catch (error) {
            if (!(error instanceof MxoError)) untyped.push(`${method.name}(${preview(args)}): ${(error as Error)?.message ?? error}`);
          }
        }),
        { numRuns: 12, seed: 42 },
      );
    }
    await t.db.world.flush().catch(() => {});
    expect(untyped).toEqual([]);
    expect(await snapshot()).toEqual(before);
  }, 300_000);
});

function preview(args: unknown[]): string {
  return args.map((a) => (typeof a === 'string' ? JSON.stringify(a.slice(0, 20)) : String(JSON.stringify(a) ?? a).slice(0, 40))).join(', ');
}
