import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/build.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**', 'test/browsers/**'], testTimeout: 30_000, hookTimeout: 30_000 },
      },
      {
        extends: true,
        // Debian's chromium and firefox-esr, headless: slower to start than the unit suite.
        test: { name: 'browsers', include: ['test/browsers/**/*.browser.test.ts'], testTimeout: 60_000, hookTimeout: 180_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          // One disposable host at a time: two cores, and the suites share the Docker engine.
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
