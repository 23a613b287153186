import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: two test files at a time, each with its own database session(s).
    maxWorkers: 2,
    // CI asks for a JSON report too, to print one closing line per database.
    ...(process.env.CAIRN_TEST_REPORT
      ? { reporters: ['default', 'json'], outputFile: { json: process.env.CAIRN_TEST_REPORT } }
      : {}),
  },
});
