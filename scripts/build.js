// Bundles the relay and the CLI with esbuild. The relay server becomes ONE self-contained file
// (dist/relay-core.cjs, undici included) and a small entry point that starts it
// (dist/relay-server.mjs), so the Docker image needs nothing but Node and those two files.
import { readFileSync } from 'node:fs';
import { build, transform } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = { define: { __RELAY_VERSION__: JSON.stringify(version) }, bundle: true, platform: 'node', target: 'node22', format: 'esm', sourcemap: false, logLevel: 'warning' };

// The tokenizer's rank table (count_tokens, loaded on first use) is 4.2 MB as published, mostly
// indentation: written without it, it is 2.7 MB of the relay's bundle.
const compactTokenizerRanks = {
  name: 'compact-tokenizer-ranks',
  setup(build) {
    build.onLoad({ filter: /gpt-tokenizer[\\/]esm[\\/]bpeRanks[\\/].*\.js$/ }, async ({ path }) => ({
      contents: (await transform(readFileSync(path, 'utf8'), { minifyWhitespace: true, format: 'esm' })).code,
      loader: 'js',
    }));
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
