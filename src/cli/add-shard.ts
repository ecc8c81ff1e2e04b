import { requireConfig, stringFlag, UsageError, withCluster, type Command } from './command.js';

export const addShard: Command = {
  name: 'add-shard',
  help: `add-shard NAME --primary URL [--replica URL]...
                    Add an empty shard: migrate it, copy the reference data, record it on global.
                    Other processes learn it from global when a district moves there.`,
  options: { primary: { type: 'string' }, replica: { type: 'string', multiple: true } },
  run: (args) => {
    const name = args.positionals[0];
    const primary = stringFlag(args, 'primary');
    if (!name) throw new UsageError('add-shard needs a shard NAME');
    if (!primary) throw new UsageError('--primary URL is required');
    const replicas = ((args.values.replica as string[] | undefined) ?? []).filter((r) => typeof r === 'string');
    return withCluster(requireConfig(args), async (db) => {
      const r = await db.admin.addShard({ name, primary, replicas });
      const copied = Object.values(r.referenceRows).reduce((a, b) => a + b, 0);
      console.log(`shard ${r.name}: ${r.migrations.length} migrations applied, ${copied} reference rows copied`);
    });
  },
};
