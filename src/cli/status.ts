import type { ClusterStatus } from '../ops/status.js';
import { requireConfig, withCluster, type Command } from './command.js';

export const status: Command = {
  name: 'status',
  help: `status            Every node (up/down, role, GTID position, replication threads and lag, pool
                    use), in-doubt XA branches, schema version and drift, characters and online
                    players per shard. --json for the same as JSON. Exit 1 when anything is wrong.`,
  options: { json: { type: 'boolean', default: false } },
  run: (args) =>
    withCluster(requireConfig(args), async (db) => {
      const report = await db.status();
      console.log(args.values.json ? JSON.stringify(report, null, 2) : render(report));
      if (report.healthy) return 0;
      for (const problem of report.problems) console.error(`status: ${problem}`);
      return 1;
    }),
};

function render(s: ClusterStatus): string {
  const lines = [`cluster: ${s.healthy ? 'healthy' : `${s.problems.length} problem(s)`}`, '', 'nodes:'];
  for (const n of s.nodes) {
    const state = n.up ? 'up' : `DOWN (${n.error})`;
    const repl = n.replication
      ? ` io=${n.replication.ioRunning ? 'on' : 'off'} sql=${n.replication.sqlRunning ? 'on' : 'off'} behind=${n.replication.secondsBehind ?? '?'}s${n.replication.caughtUp ? ' caught-up' : ''}${
          n.replication.monitor ? ` lag=${n.replication.monitor.lagMs}ms${n.replication.monitor.servesReads ? ' serving' : ' excluded'}` : ''
        }`
      : '';
    const semi = n.semiSync ? ` semi-sync=${n.semiSync.active ? 'on' : n.semiSync.enabled ? 'FELL-BACK-TO-ASYNC' : 'off'}` : '';
    lines.push(
      `  ${n.name.padEnd(18)} ${n.role.padEnd(7)} ${state.padEnd(4)} ${n.address}  gtid=${n.gtidPosition || '-'}${semi}${repl}  pool idle=${n.pool.idle} in-use=${n.pool.inUse} pending=${n.pool.pending}`,
    );
  }
  lines.push('', `in-doubt XA branches: ${s.inDoubt.length}`);
  for (const b of s.inDoubt)
    lines.push(`  ${b.node} ${b.gtrid} ${b.bqual}${b.ageMs !== undefined ? ` (${Math.round(b.ageMs / 1000)} s)` : ''}`);
  lines.push('', 'schema:');
  for (const m of s.schema) {
    lines.push(`  ${m.node.padEnd(18)} ${m.applied} applied, ${m.pending.length} pending, ${m.drift.length} drifted`);
  }
  lines.push('', 'shards:');
  for (const sh of s.shards)
    lines.push(`  ${sh.shard.padEnd(10)} districts ${sh.districts.join(',')}  characters ${sh.characters}  online ${sh.online}`);
  lines.push('', `district moves in progress: ${s.districtMoves?.length ?? 0}`);
  for (const m of s.districtMoves ?? [])
    lines.push(`  move ${m.moveId}: district ${m.districtId} ${m.from} -> ${m.to} since ${m.startedAt.toISOString()}`);
  return lines.join('\n');
}
