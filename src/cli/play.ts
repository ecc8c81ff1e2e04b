import { runLivingCluster } from '../sim/living-cluster.js';
import { runWorkerProcess } from '../sim/worker.js';
import { nonNegativeInt, positiveInt, stringFlag, type Command } from './command.js';

export const play: Command = {
  name: 'play',
  help: `play              A living cluster (what npm start runs): simulated players play every game system
                    until Ctrl-C or --duration S, then recovery, verify and a summary. Without --config
                    it starts (and stops) a sandbox. --players N (200), --processes N (1),
                    --metrics-port P (9464; any free port when taken), --think-ms M (250).`,
  options: {
    players: { type: 'string', default: '200' },
    processes: { type: 'string', default: '1' },
    duration: { type: 'string', default: '0' },
    'think-ms': { type: 'string', default: '250' },
    'metrics-port': { type: 'string' },
  },
  run: (args) =>
    runLivingCluster({
      configPath: stringFlag(args, 'config'),
      players: positiveInt(stringFlag(args, 'players'), '--players'),
      processes: positiveInt(stringFlag(args, 'processes'), '--processes'),
      durationSec: nonNegativeInt(stringFlag(args, 'duration'), '--duration'),
      thinkMs: positiveInt(stringFlag(args, 'think-ms'), '--think-ms'),
      metricsPort: nonNegativeInt(stringFlag(args, 'metrics-port') ?? '9464', '--metrics-port'),
      progress: process.stdout.isTTY ? undefined : (line) => console.log(line),
    }),
};

/** Internal: a worker process of `play --processes N` (forked by it, talks over IPC). */
export const playWorker: Command = {
  name: 'play-worker',
  help: `play-worker       (internal) one worker process of play --processes N.`,
  run: () => runWorkerProcess(),
};
