// The fast lane alone, as Stryker runs it (its vitest runner takes a config file, not a project name).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { FAST_TESTS } from '../../vitest.config.js';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: { include: FAST_TESTS, testTimeout: 30_000 },
});
