/**
 * `npm run bench`: every benchmark, each against its own sandbox cluster, each printing ratios
 * against a baseline measured in the same run (timings on a shared machine are noisy; ratios
 * measured side by side are not). Pass names to run a subset: `npm run bench -- trades`.
 */
const suites: Record<string, () => Promise<void>> = {
  trades: async () => (await import('./trades-bench.js')).run(),
  reads: async () => (await import('./reads-bench.js')).run(),
  throughput: async () => (await import('./throughput-bench.js')).run(),
  game: async () => (await import('./game-bench.js')).run(),
  'district-move': async () => (await import('./district-move-bench.js')).run(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const [name, run] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  await run();
}
