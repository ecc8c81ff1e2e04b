import { nonNegativeInt, requireConfig, stringFlag, UsageError, withCluster, type Command } from './command.js';

export const moveDistrict: Command = {
  name: 'move-district',
  help: `move-district D --to SHARD
                    Move district D (its characters with every row they own, its world content)
                    to SHARD while players keep playing; writes for D wait during the final step
                    only. A move a crashed mover left unfinished is settled first.`,
  options: { to: { type: 'string' } },
  run: (args) => {
    const district = nonNegativeInt(args.positionals[0], 'district');
    const to = stringFlag(args, 'to');
    if (!to) throw new UsageError('--to SHARD is required');
    return withCluster(requireConfig(args), async (db) => {
      const r = await db.admin.moveDistrict(district, to);
      console.log(
        r.moved
          ? `district ${r.districtId}: ${r.from} -> ${r.to}, ${r.characters} characters, ${r.rows} rows, fence ${r.fenceMs} ms, total ${r.totalMs} ms`
          : `district ${r.districtId} already lives on ${r.to}`,
      );
    });
  },
};
