// Entry point of the bundled relay server (dist/relay-server.mjs), as run in the Docker image.
import { RelayError } from '../errors.js';
import { loadRelayConfig } from './config.js';
import { jsonLogger } from './log.js';
import { runRelay } from './run.js';

const logger = jsonLogger();
try {
  await runRelay(loadRelayConfig(process.env), logger);
} catch (error) {
  if (!(error instanceof RelayError)) throw error;
  logger.error(error.message, { fix: error.fix });
  process.exit(1);
}
