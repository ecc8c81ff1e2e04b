import { requireConfig, withCluster, type Command } from './command.js';

export const repairReplicas: Command = {
  name: 'repair-replicas',
  help: `repair-replicas   Wait for every replica to catch up; repair replicas stuck by MariaDB's user-XA
                    crash defects where the primary's binlog proves the cause (exit 3: unexplained).`,
  run: (args) =>
    withCluster(requireConfig(args), async (db) => {
      const reports = await db.repairReplicas();
      console.log(JSON.stringify(reports, null, 2));
      if (!reports.some((r) => r.unexplained.length > 0)) return 0;
      console.error('repair-replicas: a replica is stopped for a reason the binlog does not explain (see "unexplained")');
      return 3;
    }),
};
