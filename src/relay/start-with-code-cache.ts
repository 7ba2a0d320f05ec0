// dist/relay-server.mjs: starts the bundled relay (dist/relay-core.cjs) with V8's code cache.
//
// Node's own compile cache (NODE_COMPILE_CACHE) keeps what V8 compiled before the module ran: its
// top level. Every function the relay calls on its way to listening and to its first answer is
// compiled again at every start. Here the cache is made after the bundle ran, so it holds those
// functions too (issue 7 measures the difference).
//
// The cache is a file in the NODE_COMPILE_CACHE directory, named after this Node and a checksum
// of the bundle (V8 itself checks only the length of the source). It is written when the process
// exits, if none was there or V8 refused it: the image build's `--warm-up` run writes it.

// Builtins through the banner's require(), not `import`: esbuild would copy each module's exports
// onto a new object, which for node:util alone costs ~6 ms.
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
const { wrap } = require('node:module') as typeof import('node:module');
const { dirname, join } = require('node:path') as typeof import('node:path');
const { fileURLToPath } = require('node:url') as typeof import('node:url');
const { constants, Script } = require('node:vm') as typeof import('node:vm');
const { crc32 } = require('node:zlib') as typeof import('node:zlib');

/** `NODE_DEBUG=relay` prints what happened to the cache. */
const debugging = /\brelay\b/i.test(process.env.NODE_DEBUG ?? '');
const debug = (message: string) => debugging && process.stderr.write(`relay: ${message}\n`);

const corePath = fileURLToPath(new URL('./relay-core.cjs', import.meta.url));
const bundleBytes = readFileSync(corePath);
const source = bundleBytes.toString('utf8');
const cachePath = codeCachePath(process.env.NODE_COMPILE_CACHE, bundleBytes);
const cachedData = cachePath === undefined ? undefined : readIfPresent(cachePath);

const script = new Script(wrap(source), {
  filename: corePath,
  cachedData,
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
debug(`code cache ${cachePath ?? '(no NODE_COMPILE_CACHE)'}: ${cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted'}`);
if (cachePath !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
  process.once('exit', () => saveCodeCache(script, cachePath));
}

const core = { exports: {} };
// The bundle gets the same require(), for Node's builtins: everything else is inside it.
(script.runInThisContext() as CommonJsWrapper).call(core.exports, core.exports, require, core, corePath, dirname(corePath));

type CommonJsWrapper = (this: object, exports: object, req: NodeJS.Require, module: object, filename: string, dir: string) => void;

/** Undefined when there is no cache directory, or no crc32 to name the file with (Node < 22.2). */
function codeCachePath(cacheDir: string | undefined, bundle: Buffer): string | undefined {
  if (!cacheDir || typeof crc32 !== 'function') return undefined;
  // Of the bytes as read: a checksum of the decoded string would encode it to UTF-8 again (~1 ms).
  const checksum = crc32(bundle).toString(16).padStart(8, '0');
  return join(cacheDir, `relay-core-${process.version}-${process.arch}-${checksum}.v8cache`);
}

function readIfPresent(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Written whole under another name, then renamed: a relay starting meanwhile reads all or nothing. */
function saveCodeCache(compiled: InstanceType<typeof Script>, path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    const partial = `${path}.${process.pid}.tmp`;
    writeFileSync(partial, compiled.createCachedData());
    renameSync(partial, path);
    debug(`code cache written: ${path}`);
  } catch (error) {
    // A read-only directory (the image's, for its unprivileged user) only means no cache.
    debug(`code cache not written: ${(error as Error).message}`);
  }
}
