import { requireConfig, withCluster, type Command } from './command.js';

export const recover: Command = {
  name: 'recover',
  help: `recover           Resolve in-doubt two-phase-commit transactions once and print what was done.`,
  run: (args) =>
    withCluster(requireConfig(args), async (db) => {
      console.log(JSON.stringify(await db.recover(), null, 2));
    }),
};
