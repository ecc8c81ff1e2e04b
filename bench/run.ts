/**
 * `npm run bench`: every benchmark, each against its own sandbox cluster, each printing ratios
 * against a baseline measured in the same run (timings on a shared machine are noisy; ratios
 * measured side by side are not). Pass names to run a subset: `npm run bench -- trades`; pass
 * `--json` for one JSON document of every figure (median, each run, goal) on stdout.
 */
import { allFigures, jsonOutput, say } from './report.js';

const suites: Record<string, () => Promise<void>> = {
  trades: async () => (await import('./trades-bench.js')).run(),
  reads: async () => (await import('./reads-bench.js')).run(),
  throughput: async () => (await import('./throughput-bench.js')).run(),
  game: async () => (await import('./game-bench.js')).run(),
  'district-move': async () => (await import('./district-move-bench.js')).run(),
  flows: async () => (await import('./flows-bench.js')).run(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(w in suites));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; have: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
// Under --json the suites' own console output goes to stderr, so stdout is only the document.
if (jsonOutput) console.log = (...args: unknown[]) => console.error(...args);
const stdout = (text: string) => process.stdout.write(`${text}\n`);
for (const [name, run] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  say(`\n=== ${name} ===`);
  await run();
}
if (jsonOutput) {
  stdout(JSON.stringify({ node: process.version, cpus: (await import('node:os')).cpus().length, figures: allFigures() }, null, 2));
}
