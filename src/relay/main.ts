// The bundled relay server (dist/relay-core.cjs), as run in the Docker image through
// dist/relay-server.mjs (start.ts).
import { RelayError } from '../shared/errors.js';
import { runUsageCommand, USAGE_SUBCOMMAND } from './access/usage-command.js';
import { loadRelayConfig } from './config.js';
import { jsonLogger } from './log.js';
import { runRelay } from './run.js';
import { RELAY_VERSION } from '../shared/version.js';

void main();

async function main(): Promise<void> {
  if (process.argv[2] === '--version') {
    console.log(RELAY_VERSION);
    process.exit(0);
  }
  if (process.argv[2] === USAGE_SUBCOMMAND) process.exit(await runUsageCommand(process.argv.slice(3), process.env));

  const logger = jsonLogger();
  try {
    await runRelay(loadRelayConfig(process.env), logger);
  } catch (error) {
    // Anything else is a bug: the rejection ends the process with its stack.
    if (!(error instanceof RelayError)) throw error;
    logger.error(error.message, { fix: error.fix });
    process.exit(1);
  }
}
