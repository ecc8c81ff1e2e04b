import path from 'node:path';
import { positiveInt, requireConfig, stringFlag, withCluster, type Command } from './command.js';

export const backup: Command = {
  name: 'backup',
  help: `backup            A consistent cut of global and every shard (each from a healthy replica where
                    there is one) to --out DIR (default backups/): one gzipped dump per tier and a
                    manifest with every tier's GTID position and table checksums; deletes backups
                    older than --keep-days (30, at least 1). The password goes through a private
                    option file.`,
  options: {
    out: { type: 'string', default: 'backups' },
    'keep-days': { type: 'string', default: '30' },
  },
  async run(args) {
    const keepDays = positiveInt(stringFlag(args, 'keep-days'), '--keep-days');
    return withCluster(requireConfig(args), async (db) => {
      const result = await db.backup({ outDir: path.resolve(stringFlag(args, 'out')!), keepDays });
      for (const f of result) {
        console.log(`${f.node.padEnd(10)} ${f.file} (${f.bytes} bytes, verified${f.gtidPosition ? `, gtid ${f.gtidPosition}` : ''})`);
      }
    });
  },
};
