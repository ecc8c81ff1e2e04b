import { requireConfig, stringFlag, UsageError, withCluster, type Command } from './command.js';

export const failover: Command = {
  name: 'failover',
  help: `failover SHARD [--to NODE] [--force]
                    Promote a replica of SHARD (or global) to primary (the one that applied the most, by GTID,
                    or NODE: a replica's name such as alpha-replica-2, or host:port). Fences the
                    old primary (read_only) if it answers; refuses when it answers but cannot be
                    fenced, or does not answer yet is not refusing connections, or when the
                    replica would lose what another has: --force promotes anyway. Repoints the
                    other replicas and records the new primary on global: running processes
                    follow without a restart. Run with an administrator's config.`,
  options: { to: { type: 'string' }, force: { type: 'boolean', default: false } },
  run: (args) => {
    const shard = args.positionals[0];
    if (!shard) throw new UsageError('failover needs a SHARD');
    const to = stringFlag(args, 'to');
    const force = args.values.force === true;
    return withCluster(requireConfig(args), async (db) => {
      const r = await db.admin.failover(shard, { ...(to ? { to } : {}), force });
      console.log(`shard ${r.shard}: ${r.promoted.node} (${r.promoted.address}) is the primary now, at ${r.promoted.gtidPosition || '-'}`);
      console.log(`  old primary ${r.oldPrimary.node} (${r.oldPrimary.address}): ${r.oldPrimary.state}`);
      console.log(`  replicas following it: ${r.repointed.join(', ') || 'none'}`);
      for (const s of r.skipped) console.log(`  left out: ${s.address}: ${s.reason}`);
      for (const w of r.warnings) console.error(`failover: warning: ${w}`);
      console.log(`  recorded on global as version ${r.version}; running processes follow it`);
    });
  },
};
