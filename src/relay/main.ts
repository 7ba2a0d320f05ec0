// Entry point of the bundled relay server (dist/relay-server.mjs), as run in the Docker image.
import { RelayError } from '../errors.js';
import { runUsageCommand, USAGE_SUBCOMMAND } from './access/usage-command.js';
import { loadRelayConfig } from './config.js';
import { jsonLogger } from './log.js';
import { runRelay } from './run.js';
import { RELAY_VERSION } from './version.js';

// Loads the whole bundle and exits: the image build runs it once to fill NODE_COMPILE_CACHE.
if (process.argv[2] === '--version') {
  console.log(RELAY_VERSION);
  process.exit(0);
}
if (process.argv[2] === USAGE_SUBCOMMAND) process.exit(await runUsageCommand(process.argv.slice(3), process.env));

const logger = jsonLogger();
try {
  await runRelay(loadRelayConfig(process.env), logger);
} catch (error) {
  if (!(error instanceof RelayError)) throw error;
  logger.error(error.message, { fix: error.fix });
  process.exit(1);
}
