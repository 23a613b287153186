import { defineConfig } from 'vitest/config';

/**
 * End-to-end journeys: a real Cairn server (started once, in the global setup, on the embedded
 * database or the `DATABASE_URL` server), the built web app, and Debian's Chromium driven by
 * playwright-core. One file at a time: two cores, one browser.
 */
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['e2e/**/*.test.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    ...(process.env.CAIRN_E2E_REPORT
      ? { reporters: ['default', 'json'], outputFile: { json: process.env.CAIRN_E2E_REPORT } }
      : {}),
  },
});
