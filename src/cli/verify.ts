import { requireConfig, withCluster, type Command } from './command.js';

export const verify: Command = {
  name: 'verify',
  help: `verify            Conservation and consistency: money equals the ledger, every item in one place,
                    directory and shards agree, member counts, replicas equal primaries. Exit 1 on
                    any violation, each named on stderr. --json prints the report.`,
  options: { json: { type: 'boolean', default: false } },
  run: (args) =>
    withCluster(requireConfig(args), async (db) => {
      const report = await db.verify();
      if (args.values.json) console.log(JSON.stringify(report, null, 2));
      else console.log(`checked ${JSON.stringify(report.checked)}: ${report.ok ? 'OK' : `${report.violations.length} violation(s)`}`);
      for (const v of report.violations) console.error(`${v.check}: ${v.message}`);
      return report.ok ? 0 : 1;
    }),
};
