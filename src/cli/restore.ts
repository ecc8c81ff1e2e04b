import path from 'node:path';
import { requireConfig, stringFlag, UsageError, withCluster, type Command } from './command.js';

export const restore: Command = {
  name: 'restore',
  help: `restore           Restore a backup into an EMPTY cluster: --from DIR (its newest manifest) or
                    --from DIR/mxo_manifest_*.json. Every table's checksum is compared with the
                    backup's; id sequences are set past the highest restored id. Each dump must
                    match the SHA-256 its manifest records (--allow-unhashed for older backups).`,
  options: { from: { type: 'string' }, 'allow-unhashed': { type: 'boolean', default: false } },
  async run(args) {
    const from = stringFlag(args, 'from');
    if (!from) throw new UsageError('restore needs --from DIR');
    return withCluster(requireConfig(args), async (db) => {
      const report = await db.restore({ from: path.resolve(from), allowUnhashed: Boolean(args.values['allow-unhashed']) });
      console.log(`restored ${report.manifest}`);
      for (const t of report.tiers) {
        console.log(`  ${t.node.padEnd(18)} ${t.tables} tables, ${t.rows} rows, checksums match (cut at gtid ${t.gtidPosition || '-'})`);
      }
      for (const s of report.sequences) {
        console.log(`  sequence ${s.sequence.padEnd(10)} next ${s.nextValue} (restored ${s.restored}, highest id ${s.highestId})`);
      }
    });
  },
};
