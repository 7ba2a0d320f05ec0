// Runs the relay as a process: start, then stop gracefully on SIGTERM/SIGINT.
import type { RelayConfig } from './config.js';
import type { Logger } from './log.js';
import { startRelayServer, type RunningRelay } from './server.js';

export async function runRelay(config: RelayConfig, logger: Logger): Promise<RunningRelay> {
  const relay = await startRelayServer(config, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now".
      process.exit(1);
    }
    stopping = true;
    logger.info('signal received', { signal });
    relay.shutdown(config.shutdownGraceMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return relay;
}
