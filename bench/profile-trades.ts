/**
 * A driver for CPU profiles of the trade path: `node --import tsx bench/profile-trades.ts
 * <same|cross> [trades] [profile.cpuprofile]` runs `trades` sequential trades of 1 money each way
 * on a two-shard sandbox and prints the process CPU and wall time per trade; with a file name it
 * profiles the measured trades only (not the sandbox's start or the warm-up) through the
 * inspector.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { withBenchCluster } from './bench-cluster.js';

const kind = process.argv[2] ?? 'same';
const trades = Number(process.argv[3] ?? 3_000);
const profileFile = process.argv[4];

await withBenchCluster({ shards: 2, replicasPerShard: 0 }, { pool: { max: 4 } }, async ({ db }) => {
  const { accountId } = await db.accounts.register({ username: 'proftrades', email: 'prof@trades.test', password: 'bench-password-1' });
  const make = async (name: string, districtId: number) => {
    const { characterId } = await db.characters.create({ accountId, name, archetype: 'hacker', gender: 'female', districtId });
    await db.characters.adjustMoney(characterId, 1_000_000, 'admin_grant');
    return characterId;
  };
  const a = await make('ProfA', 1);
  const b = await make(kind === 'same' ? 'ProfB' : 'ProfBeta', kind === 'same' ? 2 : 4);
  const trade = () => db.trades.execute({ initiator: { characterId: a, money: 1 }, recipient: { characterId: b, money: 1 } });
  for (let i = 0; i < 300; i++) await trade();
  const session = profileFile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < trades; i++) await trade();
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileFile!, JSON.stringify(profile));
    session.disconnect();
  }
  console.log(
    `${kind}: ${((wall / trades) * 1000).toFixed(0)} us per trade, CPU ${((used.user + used.system) / trades).toFixed(0)} us per trade`,
  );
});
