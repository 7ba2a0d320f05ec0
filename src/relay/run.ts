// Runs the relay as a process: start, reload the tokens file on SIGHUP (and when it changes),
// stop gracefully on SIGTERM/SIGINT.
import { RelayError } from '../shared/errors.js';
import type { RelayConfig } from './config.js';
import type { Logger } from './log.js';
import { startRelayServer, type RunningRelay } from './server.js';

export async function runRelay(config: RelayConfig, logger: Logger): Promise<RunningRelay> {
  const relay = await startRelayServer(config, logger).catch((error: unknown) => {
    throw listenError(error, config);
  });

  // SIGHUP: re-read the tokens file (RELAY_TOKENS_FILE) now; `relay token` and `relay rotate-token` send it.
  process.on('SIGHUP', () => {
    relay.reloadTokensFile().catch((error: unknown) => logger.warn('could not re-read RELAY_TOKENS_FILE', { error: String(error) }));
  });

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

/** A port taken or reserved is the operator's to fix: say so instead of Node's stack. */
function listenError(error: unknown, config: RelayConfig): unknown {
  const where = `${config.host}:${config.port}`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new RelayError(`${where} is already in use by another process`, {
        fix: `stop that process (\`ss -ltnp 'sport = :${config.port}'\` names it), or pass another --port (PORT in the environment)`,
      });
    case 'EACCES':
      return new RelayError(`not allowed to listen on ${where}`, { fix: 'use a port above 1023 (--port, or PORT in the environment), or run as root' });
    case 'EADDRNOTAVAIL':
      return new RelayError(`${config.host} is not an address of this machine`, { fix: "pass --host 127.0.0.1, or one of this machine's addresses" });
  }
  return error;
}
