#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { defaultConfigPath, UsageError } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';
import { describeError } from './ops/describe-error.js';

const HELP = `mxo-data <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.help}`).join('\n')}

Options:
  --config PATH     Cluster config (.ts, .js, .json). Default: ./shards.config.ts when present.
  --help            This text.

Passwords come from the environment (a node's passwordEnv, or MXO_DB_PASSWORD), never from flags.
Exit code 0: done and healthy; otherwise what failed is named on standard error.`;

const OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.assign(
  { config: { type: 'string' }, help: { type: 'boolean', default: false } },
  ...COMMANDS.map((c) => c.options ?? {}),
);

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help || !name) {
    console.log(HELP);
    return name || values.help ? 0 : 1;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  const config = typeof values.config === 'string' ? values.config : undefined;
  return command.run({ values, positionals: rest, configPath: defaultConfigPath(config) });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${HELP}`);
      process.exit(2);
    }
    // Never the raw error: a driver error's `sql` can hold a password.
    console.error(describeError(error));
    process.exit(1);
  },
);
