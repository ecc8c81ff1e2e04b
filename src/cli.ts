#!/usr/bin/env node
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openCluster, type Cluster } from './cluster.js';
import { runDemoLoop, runDemoScenario } from './demo.js';
import { MxoError } from './errors.js';
import { startSandbox, stopSandboxDir, type Sandbox } from './sandbox/index.js';

const HELP = `mxo-data <command> [options]

Commands:
  demo              Run the demo scenario. Without --config it starts a local sandbox cluster
                    (global + 2 shards, each primary + 1 replica), migrates it, runs, and stops it.
                    --loop keeps generating traffic until Ctrl-C; --metrics-port N serves /metrics.
  migrate           Create databases and apply sql/ migrations on every primary (idempotent).
  recover           Resolve in-doubt two-phase-commit transactions once and print what was done.
  repair-replicas   Wait for every replica to catch up; repair replicas stuck by MariaDB's user-XA
                    crash defects where the primary's binlog proves the cause (exit 3: unexplained).
  backup            Dump global and every shard (from a replica where there is one) to
                    --out DIR (default backups/), gzipped and verified; deletes dumps older
                    than --keep-days (30). The password goes through a private option file.
  sandbox start     Start a sandbox cluster that keeps running; prints its config path.
                    --dir D (default .sandbox), --shards N (2), --replicas R (1).
  sandbox stop      Stop the sandbox in --dir D (default .sandbox).

Options:
  --config PATH     Cluster config (.ts, .js, .json). Default: ./shards.config.ts when present.
  --help            This text.

Passwords come from the environment (a node's passwordEnv, or MXO_DB_PASSWORD), never from flags.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      loop: { type: 'boolean', default: false },
      'metrics-port': { type: 'string' },
      dir: { type: 'string', default: '.sandbox' },
      shards: { type: 'string', default: '2' },
      replicas: { type: 'string', default: '1' },
      out: { type: 'string', default: 'backups' },
      'keep-days': { type: 'string', default: '30' },
      help: { type: 'boolean', default: false },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return command || values.help ? 0 : 1;
  }
  const configPath = values.config ?? (existsSync('shards.config.ts') ? 'shards.config.ts' : undefined);

  switch (command) {
    case 'demo':
      return demo(values.config, values.loop, values['metrics-port']);
    case 'migrate':
      return withCluster(requireConfig(configPath), async (db) => {
        for (const node of (await db.migrate()).nodes) {
          console.log(`${node.node}: applied ${node.applied.length} (${node.applied.join(', ') || '-'}), already applied ${node.skipped.length}`);
        }
      });
    case 'recover':
      return withCluster(requireConfig(configPath), async (db) => {
        const report = await db.recover();
        console.log(JSON.stringify(report, null, 2));
      });
    case 'repair-replicas':
      return withCluster(requireConfig(configPath), async (db) => {
        const reports = await db.repairReplicas();
        console.log(JSON.stringify(reports, null, 2));
        return reports.some((r) => r.unexplained.length > 0) ? 3 : 0;
      });
    case 'backup':
      return withCluster(requireConfig(configPath), async (db) => {
        for (const f of await db.backup({ outDir: path.resolve(values.out), keepDays: positiveInt(values['keep-days'], '--keep-days') })) {
          console.log(`${f.node.padEnd(10)} ${f.file} (${f.bytes} bytes, verified)`);
        }
      });
    case 'sandbox':
      if (sub === 'start') {
        const sandbox = await startSandbox({
          dir: path.resolve(values.dir),
          shards: positiveInt(values.shards, '--shards'),
          replicasPerShard: nonNegativeInt(values.replicas, '--replicas'),
          killOnExit: false,
        });
        console.log(`sandbox running in ${sandbox.dir}; config: ${sandbox.configPath}`);
        for (const node of sandbox.nodes) console.log(`  ${node.name.padEnd(18)} ${node.url}  pid ${node.pid ?? '-'}`);
        console.log(`stop it with: mxo-data sandbox stop --dir ${values.dir}`);
        return 0;
      }
      if (sub === 'stop') {
        await stopSandboxDir(path.resolve(values.dir));
        console.log(`sandbox in ${values.dir} stopped`);
        return 0;
      }
      throw new UsageError('sandbox needs "start" or "stop"');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** `demo`: on the given cluster, or on a sandbox started (and stopped) for the occasion. */
async function demo(configPath: string | undefined, loop: boolean, metricsPort: string | undefined): Promise<number> {
  let sandbox: Sandbox | undefined;
  if (!configPath) {
    const started = Date.now();
    console.log('starting a sandbox cluster: global + 2 shards (primary + 1 replica each)...');
    sandbox = await startSandbox({ shards: 2, replicasPerShard: 1 });
    console.log(`sandbox up in ${Date.now() - started} ms:`);
    for (const node of sandbox.nodes) console.log(`  ${node.name.padEnd(18)} ${node.url}`);
  }
  try {
    return await withCluster(configPath ?? sandbox!.configPath, async (db) => {
      const migrated = await db.migrate();
      console.log(`migrated ${migrated.nodes.length} primaries (replicas follow by replication)\n`);
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
  const { startMetricsServer } = await import('./metrics/metrics-server.js');
  const server = await startMetricsServer({ registry: db.metrics, port, host: '0.0.0.0' });
  console.log(`metrics on ${server.url}`);
  return server;
}

/** Runs `fn` on an open cluster and returns its exit code (0 when it returns nothing). */
async function withCluster(configPath: string, fn: (db: Cluster) => Promise<number | void>): Promise<number> {
  const db = await openCluster(configPath);
  try {
    return (await fn(db)) ?? 0;
  } finally {
    await db.close();
  }
}

class UsageError extends Error {}

function requireConfig(configPath: string | undefined): string {
  if (!configPath) throw new UsageError('--config is required (no ./shards.config.ts here)');
  return configPath;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer`);
  return n;
}

function nonNegativeInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer`);
  return n;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${HELP}`);
      process.exit(2);
    }
    console.error(error instanceof MxoError ? `${error.code}: ${error.message}` : error);
    process.exit(1);
  },
);
