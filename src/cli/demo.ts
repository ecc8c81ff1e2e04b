import type { Cluster } from '../cluster.js';
import { runDemoLoop, runDemoScenario } from '../demo.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { prepareSandboxAsApp } from '../sim/sandbox-app-account.js';
import { positiveInt, stringFlag, withCluster, type Command } from './command.js';

export const demo: Command = {
  name: 'demo',
  help: `demo              Run the demo scenario. Without --config it starts a local sandbox cluster
                    (global + 2 shards, each primary + 1 replica), migrates it, runs as mxo_app, and
                    stops it.
                    --loop keeps generating traffic until Ctrl-C; --metrics-port N serves /metrics;
                    --skip-migrate for a cluster migrated already (the demo then needs no more
                    than the application account, mxo_app).`,
  options: {
    loop: { type: 'boolean', default: false },
    'metrics-port': { type: 'string' },
    'skip-migrate': { type: 'boolean', default: false },
  },
  // Only an explicit --config: without one the demo brings its own sandbox.
  run: (args) =>
    runDemo(stringFlag(args, 'config'), {
      loop: args.values.loop === true,
      metricsPort: stringFlag(args, 'metrics-port'),
      migrate: args.values['skip-migrate'] !== true,
    }),
};

/** On the given cluster, or on a sandbox started (and stopped) for the occasion. */
async function runDemo(
  configPath: string | undefined,
  { loop, metricsPort, migrate }: { loop: boolean; metricsPort: string | undefined; migrate: boolean },
): Promise<number> {
  let sandbox: Sandbox | undefined;
  if (!configPath) {
    const started = Date.now();
    console.log('starting a sandbox cluster: global + 2 shards (primary + 1 replica each)...');
    sandbox = await startSandbox({ shards: 2, replicasPerShard: 1 });
    console.log(`sandbox up in ${Date.now() - started} ms:`);
    for (const node of sandbox.nodes) console.log(`  ${node.name.padEnd(18)} ${node.url}`);
  }
  try {
    // A sandbox is migrated as root and then used as the application account, as in `play`.
    const config = configPath ?? (await prepareSandboxAsApp(sandbox!));
    return await withCluster(config, async (db) => {
      if (sandbox) console.log(`database account: ${db.config.global.primary.user}\n`);
      else if (migrate) {
        const migrated = await db.migrate();
        console.log(`migrated ${migrated.nodes.length} primaries (replicas follow by replication)\n`);
      }
      const server = metricsPort ? await serveMetrics(db, positiveInt(metricsPort, '--metrics-port')) : undefined;
      try {
        await runDemoScenario(db);
        if (loop) {
          const stop = new AbortController();
          process.once('SIGINT', () => stop.abort());
          process.once('SIGTERM', () => stop.abort());
          console.log('\ngenerating traffic until Ctrl-C...');
          await runDemoLoop(db, stop.signal);
        }
      } finally {
        await server?.close();
      }
    });
  } finally {
    if (sandbox) {
      await sandbox.stop();
      console.log('\nsandbox stopped');
    }
  }
}

async function serveMetrics(db: Cluster, port: number): Promise<{ close(): Promise<void> }> {
  const { startMetricsServer } = await import('../metrics/metrics-server.js');
  const server = await startMetricsServer({ registry: db.metrics, port, host: '0.0.0.0' });
  console.log(`metrics on ${server.url}`);
  return server;
}
