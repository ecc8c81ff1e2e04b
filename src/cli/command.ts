import { existsSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { openCluster, type Cluster } from '../cluster.js';

/** The parsed command line a command runs with. */
export interface CommandArgs {
  /** Flag values by name (strings and booleans, as declared in the commands' `options`). */
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  /** Words after the command name (`sandbox start` -> ['start']). */
  positionals: string[];
  /** `--config`, or ./shards.config.ts when present. */
  configPath: string | undefined;
}

/** One `mxo-data` command: its own file in src/cli/, listed in src/cli/commands.ts. */
export interface Command {
  name: string;
  /** Its lines of the help text (first line: `name  what it does`). */
  help: string;
  /** Flags it reads (merged with every other command's; names must agree on type). */
  options?: NonNullable<ParseArgsConfig['options']>;
  /** Returns the exit code: 0 done and healthy; non-zero after naming the failure on stderr. */
  run(args: CommandArgs): Promise<number>;
}

/** A mistake on the command line: printed with the help text, exit code 2. */
export class UsageError extends Error {}

export function defaultConfigPath(given: string | undefined): string | undefined {
  return given ?? (existsSync('shards.config.ts') ? 'shards.config.ts' : undefined);
}

export function requireConfig(args: CommandArgs): string {
  if (!args.configPath) throw new UsageError('--config is required (no ./shards.config.ts here)');
  return args.configPath;
}

export function stringFlag(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function positiveInt(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer`);
  return n;
}

export function nonNegativeInt(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer`);
  return n;
}

/** Runs `fn` on an open cluster and returns its exit code (0 when it returns nothing). */
export async function withCluster(configPath: string, fn: (db: Cluster) => Promise<number | void>): Promise<number> {
  const db = await openCluster(configPath);
  try {
    return (await fn(db)) ?? 0;
  } finally {
    await db.close();
  }
}
