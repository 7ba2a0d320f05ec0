// Mutation testing of the pure core (`npm run test:mutation`; not in CI: too slow for it).
// Driven by the fast lane; the score and the surviving mutants go into test/mutation/REPORT.md.
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/mutation/vitest.config.ts' },
  mutate: [
    'src/plan/*.ts',
    // The executor runs plans over a real shell; its tests are integration tests, not the fast lane.
    '!src/plan/executor.ts',
    'src/relay/headers.ts',
    'src/relay/paths.ts',
    'src/relay/auth.ts',
    // CORS's pure parts; answeredCors below them writes responses. Line range: move it when cors.ts changes.
    'src/relay/cors.ts:1-96',
    'src/relay/access/limiter.ts',
    // The model policy: parsing, resolving and filtering (the gate below them writes responses).
    // Line range: move it when models.ts changes above its gate.
    'src/relay/models.ts:1-57',
    'src/shared/env-local.ts',
    'src/relay/chat-completion.ts',
    'src/relay/redact.ts',
    // RELAY_DUMP's pure parts: the capped copy, the relay's secrets, how a body is shown (the taps need a live response).
    // Line ranges: move them when dump.ts changes.
    'src/relay/dump.ts:16-37',
    'src/relay/dump.ts:58-75',
    'src/relay/dump.ts:157-241',
    'src/relay/ollama/translate.ts',
    'src/relay/anthropic/request.ts',
    'src/relay/anthropic/response.ts',
    'src/relay/anthropic/stream.ts',
  ],
  ignorePatterns: ['dist', 'bench', 'reports', 'test/e2e', '.stryker-tmp'],
  // Two test processes: the two cores are shared with other work, so one alone gets too little.
  concurrency: 2,
  // Static mutants (module-level tables and patterns) rerun the whole lane each: 98% of the time
  // on this suite. Those tables are covered by behaviour tests instead (see REPORT.md).
  ignoreStatic: true,
  timeoutMS: 30_000,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // Stryker rewrites tsconfig's `references` through TypeScript's JS API, which TypeScript 7 no
  // longer has; ours has none to rewrite, so point it at no file.
  tsconfigFile: 'no-tsconfig-to-rewrite.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
