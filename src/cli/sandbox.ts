import path from 'node:path';
import { startSandbox, stopSandboxDir } from '../sandbox/index.js';
import { nonNegativeInt, positiveInt, stringFlag, UsageError, type Command } from './command.js';

export const sandbox: Command = {
  name: 'sandbox',
  help: `sandbox start     Start a sandbox cluster that keeps running; prints its config path.
                    --dir D (default .sandbox), --shards N (2), --replicas R (1).
  sandbox stop      Stop the sandbox in --dir D (default .sandbox).`,
  options: {
    dir: { type: 'string', default: '.sandbox' },
    shards: { type: 'string', default: '2' },
    replicas: { type: 'string', default: '1' },
  },
  async run(args) {
    const dir = stringFlag(args, 'dir')!;
    const [sub] = args.positionals;
    if (sub === 'start') {
      const started = await startSandbox({
        dir: path.resolve(dir),
        shards: positiveInt(stringFlag(args, 'shards'), '--shards'),
        replicasPerShard: nonNegativeInt(stringFlag(args, 'replicas'), '--replicas'),
        killOnExit: false,
      });
      console.log(`sandbox running in ${started.dir}; config: ${started.configPath}`);
      for (const node of started.nodes) console.log(`  ${node.name.padEnd(18)} ${node.url}  pid ${node.pid ?? '-'}`);
      console.log(`stop it with: mxo-data sandbox stop --dir ${dir}`);
      return 0;
    }
    if (sub === 'stop') {
      await stopSandboxDir(path.resolve(dir));
      console.log(`sandbox in ${dir} stopped`);
      return 0;
    }
    throw new UsageError('sandbox needs "start" or "stop"');
  },
};
