// `relay logs`: the relay container's logs, streamed over SSH; Ctrl-C ends it cleanly.
import type { Command } from 'commander';
import { logsCommand, type LogsOptions } from '../plan/operate.js';
import { isDumpLine } from '../shared/dump-line.js';
import { sinceTimeOption, wholeNumberOption } from './flags.js';
import { hostLinesTo, hostOutputTo } from './output.js';
import { addTargetOptions, type TargetOptions, withHost } from './target-options.js';

interface LogsFlags extends TargetOptions {
  follow?: boolean;
  since?: string;
  lines?: number;
  dump?: boolean;
}

export function registerLogs(program: Command): void {
  const command = program
    .command('logs')
    .description("Show the relay container's logs (JSON lines, one per request).")
    .option('-f, --follow', 'keep streaming new lines until Ctrl-C')
    .addOption(sinceTimeOption('only lines newer than this: 10m, 2h, 30d, or a time such as 2025-01-31T12:00:00Z'))
    .addOption(wholeNumberOption('-n, --lines <count>', 'only the last <count> lines (default: all; with -f, the last 20 then new ones)', { min: 0, example: 100 }))
    .option('--dump', 'only the RELAY_DUMP lines (each exchange, redacted); without --dump they are left out');
  addTargetOptions(command);
  command
    .addHelpText(
      'after',
      `
Examples:
  $ relay logs -n 100                  # the last 100 lines
  $ relay logs -f --since 10m          # the last 10 minutes, then follow (Ctrl-C to stop)
  $ relay logs --since 1h | grep '"status":5'
  $ relay logs --dump -f               # what clients send and get, while RELAY_DUMP=headers or bodies
  $ relay logs --dump -n 200 | jq -c '{path, status, request: .request.body}'

-n counts every line of the log, before --dump picks its own or leaves them out.`,
    )
    .action(async (flags: LogsFlags) => {
      const options: LogsOptions = { follow: flags.follow ?? false };
      if (flags.since !== undefined) options.since = flags.since;
      if (flags.lines !== undefined) options.tail = flags.lines;
      // Like tail -f: following starts from recent lines, not from the container's whole history.
      else if (options.follow && flags.since === undefined) options.tail = FOLLOW_TAIL;

      await withHost(flags, async (host) => {
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        process.once('SIGINT', onSigint);
        // Picked here, not on the host: the lines arrive whole and the exit status stays docker's.
        const toStdout = hostLinesTo(process.stdout, flags.dump ? isDumpLine : (line) => !isDumpLine(line));
        const toStderr = hostOutputTo(process.stderr);
        try {
          const code = await host.stream(logsCommand(options), {
            sudo: true,
            signal: abort.signal,
            onStdout: (chunk) => toStdout.write(chunk),
            // After Ctrl-C the remote shell may report the `docker logs` it ended; that is not news.
            onStderr: (chunk) => {
              if (!(abort.signal.aborted && chunk.toString().trim() === 'Terminated')) toStderr(chunk);
            },
          });
          toStdout.end();
          // Ctrl-C is how -f is meant to end: not an error.
          if (!abort.signal.aborted && code !== 0) process.exitCode = code ?? 1;
        } finally {
          process.off('SIGINT', onSigint);
        }
      });
    });
}

const FOLLOW_TAIL = 20;
