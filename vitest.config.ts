import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Unit tests of pure modules sit beside the module they test.
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The tests mostly wait on servers and child processes: on a 2-core
    // machine four files at a time finish in about half the time of one.
    maxWorkers: 4,
    // The JSON report lets CI print plain pass/fail counts.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
