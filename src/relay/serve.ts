// The one door from the operator CLI into the server: `relay serve` starts the relay through this
// file alone (biome.json refuses any other import of src/relay from the CLI half).
import { type ConfigOverrides, loadRelayConfig } from './config.js';
import { jsonLogger } from './log.js';
import { runRelay } from './run.js';
import type { RunningRelay } from './server.js';

/** The relay configured from `env` (plus the command's flags), logging JSON lines to stdout. */
export function serveRelay(env: NodeJS.ProcessEnv, overrides: ConfigOverrides): Promise<RunningRelay> {
  return runRelay(loadRelayConfig(env, overrides), jsonLogger());
}
