// The bundled relay server (dist/relay-core.cjs), as run in the Docker image through
// dist/relay-server.mjs (start.ts).
import { RelayError } from '../shared/errors.js';
import { runUsageCommand, USAGE_SUBCOMMAND } from './access/usage-command.js';
import { jsonLogger } from './log.js';
import { serveRelay } from './serve.js';
import { RELAY_VERSION } from '../shared/version.js';

void main();

async function main(): Promise<void> {
  if (process.argv[2] === '--version') {
    console.log(RELAY_VERSION);
    process.exit(0);
  }
  if (process.argv[2] === USAGE_SUBCOMMAND) process.exit(await runUsageCommand(process.argv.slice(3), process.env));

  try {
    await serveRelay(process.env, {});
  } catch (error) {
    // Anything else is a bug: the rejection ends the process with its stack.
    if (!(error instanceof RelayError)) throw error;
    jsonLogger().error(error.message, { fix: error.fix });
    process.exit(1);
  }
}
