// Bundles the relay and the CLI with esbuild. The relay server becomes one self-contained file
// (dist/relay-core.cjs, undici included), a small entry point that starts it
// (dist/relay-server.mjs) and the tokenizer count_tokens loads on first use
// (dist/relay-tokenizer.cjs), so the Docker image needs nothing but Node and those three files.
import { readFileSync } from 'node:fs';
import { build, transform } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = { define: { __RELAY_VERSION__: JSON.stringify(version) }, bundle: true, platform: 'node', target: 'node22', format: 'esm', sourcemap: false, logLevel: 'warning' };

// The tokenizer's rank table is 4.2 MB as published, mostly indentation: written without it, 2.7 MB.
const compactTokenizerRanks = {
  name: 'compact-tokenizer-ranks',
  setup(build) {
    build.onLoad({ filter: /gpt-tokenizer[\\/]esm[\\/]bpeRanks[\\/].*\.js$/ }, async ({ path }) => ({
      contents: (await transform(readFileSync(path, 'utf8'), { minifyWhitespace: true, format: 'esm' })).code,
      loader: 'js',
    }));
  },
};

// The tokenizer (gpt-tokenizer's documented gpt-4o entry point) is 3 MB, more than half the relay's
// code, and only count_tokens uses it: a file of its own, so a start does not read it (bench/README.md,
// "Cold start: the tokenizer in a file of its own": -17% CPU per cold start). count-tokens.ts imports it on first use.
const TOKENIZER = 'gpt-tokenizer/model/gpt-4o';
const tokenizerApart = {
  name: 'tokenizer-apart',
  setup(build) {
    build.onResolve({ filter: /^gpt-tokenizer\/model\/gpt-4o$/ }, () => ({ path: './relay-tokenizer.cjs', external: true }));
  },
};

await Promise.all([
  // The relay as one CommonJS file, loaded with require() so Node's compile cache applies to it.
  // As CommonJS, its imports of Node's builtins become plain require() calls.
  build({
    ...common,
    format: 'cjs',
    entryPoints: ['src/relay/main.ts'],
    outfile: 'dist/relay-core.cjs',
    plugins: [tokenizerApart],
  }),
  build({
    ...common,
    format: 'cjs',
    entryPoints: [TOKENIZER],
    outfile: 'dist/relay-tokenizer.cjs',
    plugins: [compactTokenizerRanks],
  }),
  // The relay's entry point: two lines that load dist/relay-core.cjs.
  build({
    ...common,
    entryPoints: ['src/relay/start.ts'],
    outfile: 'dist/relay-server.mjs',
  }),
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    // The CLI runs from an installed package: its dependencies stay in node_modules.
    packages: 'external',
  }),
]);
