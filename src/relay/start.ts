// dist/relay-server.mjs, the image's entry point: loads the bundled relay (dist/relay-core.cjs)
// with require(), so Node's compile cache (NODE_COMPILE_CACHE, set in the image) keeps its code.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./relay-core.cjs');
