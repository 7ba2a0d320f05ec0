// Shared: the relay reports its version; `relay deploy` builds the image of its own version.
// Replaced at bundle time by scripts/build.js; tests running the sources see the fallback.
declare const __RELAY_VERSION__: string | undefined;
export const RELAY_VERSION: string = typeof __RELAY_VERSION__ === 'string' ? __RELAY_VERSION__ : '0.0.0-dev';
