import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Rebuilds a stale dist/ for the tests that run the built package (CLI, package exports).
    globalSetup: ['test/support/global-build.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    retry: 0,
    coverage: {
      // On with --coverage (npm test, npm run coverage); a single-file run measures nothing.
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'html', 'json-summary'],
      reportsDirectory: 'coverage',
      // The floor, a few points under the figure measured when it was set (2026-11-30: lines 39.1,
      // statements 37.1, functions 37.2, branches 26.3 %, from a run of 12 of the test files; the
      // whole suite covers more, so raise these after a full run). Below it, `npm test` fails.
      thresholds: { lines: 36, statements: 34, functions: 34, branches: 23 },
    },
  },
});
