// Bundles the two entry points with esbuild. The relay server becomes ONE self-contained file
// (undici included) so the Docker image needs nothing but Node and that file.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
/**
 * Node's builtins reached through require(), not ESM `import`: an ESM import of a builtin makes
 * Node build its module facade, which reads every export, lazy ones included. `node:http`'s lazy
 * WebSocket/fetch exports alone load Node's own undici copy: ~20 ms of the relay's cold start.
 */
const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-require' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

const common = { define: { __RELAY_VERSION__: JSON.stringify(version) }, bundle: true, platform: 'node', target: 'node22', format: 'esm', sourcemap: false, logLevel: 'warning' };

await Promise.all([
  build({
    ...common,
    entryPoints: ['src/relay/main.ts'],
    outfile: 'dist/relay-server.mjs',
    plugins: [builtinsViaRequire],
    // Some bundled CJS deps call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __relayRequire } from 'node:module'; const require = __relayRequire(import.meta.url);" },
  }),
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    // The CLI runs from an installed package: its dependencies stay in node_modules.
    packages: 'external',
  }),
]);
