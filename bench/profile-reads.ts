/**
 * A driver for CPU profiles of the read path: `node --import tsx bench/profile-reads.ts
 * <raw|get|coalesced|load|spawn> [calls] [profile.cpuprofile]` runs `calls` reads of one kind, 16 in flight
 * over pools of 10, on a one-shard sandbox, and prints the process CPU per call
 * (process.cpuUsage). With a file name it profiles the measured calls only (not the sandbox's
 * start, the migration or the warm-up) through the inspector; open the file in Chrome DevTools or
 * speedscope.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import mysql from 'mysql2/promise';
import { CHARACTER_COLUMNS } from '../src/systems/characters/character-columns.js';
import { withBenchCluster } from './bench-cluster.js';

const kind = process.argv[2] ?? 'get';
const calls = Number(process.argv[3] ?? 40_000);
const profileFile = process.argv[4];

await withBenchCluster({ shards: 1, replicasPerShard: 0 }, { pool: { max: 10 }, reads: { coalesce: kind === 'coalesced' } }, async ({ db, connect }) => {
  const { accountId } = await db.accounts.register({ username: 'prof', email: 'prof@zion.example', password: 'bench-pass-1' });
  const ids: number[] = [];
  for (let i = 0; i < 64; i++) ids.push((await db.characters.create({ accountId, name: `Prof${i}`, archetype: 'spy', gender: 'male', districtId: 1 })).characterId);
  const direct = await connect('alpha-primary');
  const { host, port } = direct.config;
  const status = async () =>
    Object.fromEntries(
      ((await direct.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_stmt_execute', 'Com_stmt_prepare', 'Questions', 'Bytes_received', 'Bytes_sent')"))[0] as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, Number(r.Value)]),
    );
  const raw = mysql.createPool({ host, port, user: 'root', database: 'mxo_shard', connectionLimit: 10 });
  const sql = `SELECT ${CHARACTER_COLUMNS}, deleted_at FROM characters WHERE character_id = ?`;
  const ops: Record<string, (i: number) => Promise<unknown>> = {
    raw: (i) => raw.execute(sql, [ids[i % 64]]),
    get: (i) => db.characters.get(ids[i % 64]!, { consistency: 'strong' }),
    coalesced: (i) => db.characters.get(ids[i % 64]!, { consistency: 'strong' }),
    load: (i) => db.characters.load(ids[i % 64]!, { consistency: 'strong' }),
    spawn: (i) => db.characters.spawn(ids[i % 64]!, { consistency: 'strong' }),
  };
  const op = ops[kind];
  if (!op) throw new Error(`unknown kind ${kind}: ${Object.keys(ops).join(', ')}`);
  const drive = async (n: number) => {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => { while (next < n) await op(next++); }));
  };
  await drive(2_000); // warm-up
  const server = await status();
  const inspector = profileFile ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
  }
  const before = process.cpuUsage();
  const started = performance.now();
  await drive(calls);
  const used = process.cpuUsage(before);
  const seconds = (performance.now() - started) / 1000;
  if (inspector) {
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(profileFile!, JSON.stringify(profile));
    inspector.disconnect();
  }
  const after = await status();
  console.log(`${kind}: ${(calls / seconds).toFixed(0)} q/s, CPU ${((used.user + used.system) / calls).toFixed(1)} us per call`);
  // What the server saw per call (statements, prepares, bytes): the same for raw and get when the library adds nothing.
  console.log(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, ((v - server[k]!) / calls).toFixed(2)])));
  await raw.end();
});
