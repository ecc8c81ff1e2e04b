import { plannedStatements } from '../ops/users.js';
import { USER_SPECS } from '../ops/user-grants.js';
import { requireConfig, stringFlag, withCluster, type Command } from './command.js';

export const users: Command = {
  name: 'users',
  help: `users             Create the least-privilege accounts on every primary (run as an admin):
                    mxo_app, mxo_migrate, mxo_backup, mxo_repl, mxo_monitor, passwords from
                    MXO_APP_PASSWORD, MXO_MIGRATE_PASSWORD, MXO_BACKUP_PASSWORD, MXO_REPL_PASSWORD,
                    MXO_MONITOR_PASSWORD (12+ characters). Prints every grant. --host H (default %).
                    --dry-run prints the statements without a cluster.`,
  options: { host: { type: 'string', default: '%' }, 'dry-run': { type: 'boolean', default: false } },
  async run(args) {
    const host = stringFlag(args, 'host')!;
    if (args.values['dry-run']) {
      for (const spec of USER_SPECS) console.log(`-- ${spec.user}: ${spec.purpose}`);
      console.log('\n-- global primary (database mxo_global)');
      console.log(
        (await plannedStatements('mxo_global', host, false))
          .map((s) => `${s};`)
          .join('\n'),
      );
      console.log('\n-- every shard primary (database mxo_shard)');
      console.log(
        (await plannedStatements('mxo_shard', host, true))
          .map((s) => `${s};`)
          .join('\n'),
      );
      return 0;
    }
    return withCluster(requireConfig(args), async (db) => {
      const report = await db.createUsers({ host });
      for (const node of report.nodes) {
        console.log(`${node.node}:`);
        for (const statement of node.statements) console.log(`  ${statement};`);
      }
    });
  },
};
