import { defineConfig } from 'vitest/config';

// The fast lane (`npm run test:unit`, and what Stryker runs): pure functions and plans checked
// with `sh -n`; no relay process, no bundle, no server. Kept in the `unit` project too, so
// `npm test` still runs everything.
export const FAST_TESTS = [
  'test/access/access-mode.test.ts',
  'test/access/limiter.test.ts',
  'test/access/token-plan.test.ts',
  'test/access/token-registry.test.ts',
  'test/access/usage-tap.test.ts',
  'test/commands/flags.test.ts',
  'test/commands/output.test.ts',
  'test/compat/settings.test.ts',
  'test/operations/default-token.test.ts',
  'test/deploy-env.test.ts',
  'test/dns-check.test.ts',
  'test/duration.test.ts',
  'test/env-local.test.ts',
  'test/host/target.test.ts',
  'test/plan/cert-plan.test.ts',
  'test/plan/deploy-plan.test.ts',
  'test/plan/install-plan.test.ts',
  'test/plan/operate.test.ts',
  'test/plan/preflight.test.ts',
  'test/plan/render-plan.test.ts',
  'test/plan/verify-nginx.test.ts',
  'test/project-file.test.ts',
  'test/relay/anthropic-request.test.ts',
  'test/relay/anthropic-stream.test.ts',
  'test/relay/anthropic-translate.test.ts',
  'test/relay/auth-headers.test.ts',
  'test/relay/config.test.ts',
  'test/relay/headers.test.ts',
  'test/relay/cors.test.ts',
  'test/relay/dump-body.test.ts',
  'test/relay/log.test.ts',
  'test/relay/model-policy.test.ts',
  'test/relay/ollama-translate.test.ts',
  'test/relay/paths.test.ts',
  'test/relay/redact.test.ts',
  'test/system-component.test.ts',
  'test/templates.test.ts',
  'test/token.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'fast', include: FAST_TESTS, testTimeout: 30_000 } },
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/browsers/**'],
          globalSetup: ['test/support/build.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Debian's chromium and firefox-esr, headless: slower to start than the unit suite.
        test: {
          name: 'browsers',
          include: ['test/browsers/**/*.browser.test.ts'],
          globalSetup: ['test/support/build.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/support/build.ts'],
          // One disposable host at a time: two cores, and the suites share the Docker engine.
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
