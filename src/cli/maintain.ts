import { requireConfig, withCluster, type Command } from './command.js';

export const maintain: Command = {
  name: 'maintain',
  help: `maintain          Run every maintenance job once (partitions, economy roll-up, session purge,
                    inactive archive, vendor restock, server_metrics); each under its cluster-wide
                    lease. Exit 1 when a job failed.`,
  run: (args) =>
    withCluster(requireConfig(args), async (db) => {
      const results = await db.maintenance.run();
      for (const r of results) console.log(`${r.job.padEnd(15)} ${r.outcome.padEnd(8)} ${r.detail}`);
      const failed = results.filter((r) => r.outcome === 'failed');
      for (const r of failed) console.error(`${r.job} failed: ${r.detail}`);
      return failed.length === 0 ? 0 : 1;
    }),
};
