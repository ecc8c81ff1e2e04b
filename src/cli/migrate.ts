import { requireConfig, withCluster, type Command } from './command.js';

export const migrate: Command = {
  name: 'migrate',
  help: `migrate           Create databases and apply sql/ migrations on every primary (idempotent).`,
  run: (args) =>
    withCluster(requireConfig(args), async (db) => {
      for (const node of (await db.migrate()).nodes) {
        console.log(
          `${node.node}: applied ${node.applied.length} (${node.applied.join(', ') || '-'}), already applied ${node.skipped.length}`,
        );
      }
    }),
};
