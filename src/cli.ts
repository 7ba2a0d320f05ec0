// The `relay` command line: wires subcommands to their modules, prints errors with their fix.
import { Command, CommanderError } from 'commander';
import { RelayError } from './shared/errors.js';
import { printCommanderError, printError } from './commands/output.js';
import { registerCert } from './commands/cert.js';
import { registerDeploy } from './commands/deploy.js';
import { registerInit } from './commands/init.js';
import { registerInstall } from './commands/install.js';
import { registerLogs } from './commands/logs.js';
import { registerRestart } from './commands/restart.js';
import { registerRotateToken } from './commands/rotate-token.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerToken } from './commands/token.js';
import { registerUsage } from './commands/usage.js';

const program = new Command('relay')
  .description('Turn a fresh Ubuntu/Debian VPS into a production OpenAI relay, then operate it.')
  // Set before the subcommands are made: they inherit it.
  .configureOutput({ outputError: (text) => printCommanderError(text) })
  .addHelpText(
    'after',
    `
Examples:
  $ relay init --host root@203.0.113.7 --domain relay.example.com --email ops@example.com
  $ relay logs -f                                follow the relay's requests (host from relay.json)
  $ relay rotate-token --grace 10m               new token; the old one works 10 more minutes
  $ relay serve                                  run the relay locally on 127.0.0.1:3001`,
  );

// In the order an operator meets them.
registerInit(program);
registerInstall(program);
registerDeploy(program);
registerCert(program);
registerLogs(program);
registerRestart(program);
registerRotateToken(program);
registerToken(program);
registerUsage(program);
registerStatus(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const { failure, exitCode } = operatorFailure(error);
  printError(failure);
  process.exit(exitCode);
}

/** Whatever ended the command, as the `error`/`fix` lines and an exit code (130: interrupted). */
function operatorFailure(error: unknown): { failure: RelayError; exitCode: number } {
  if (error instanceof RelayError) return { failure: error, exitCode: 1 };
  // Ctrl-C at an inquirer prompt; inquirer's documented way to tell it apart is the name.
  if (error instanceof Error && error.name === 'ExitPromptError') {
    return { failure: new RelayError('interrupted at the prompt; nothing was changed by it', { fix: 'run the command again, or pass the answer as a flag (and --yes to never be asked)' }), exitCode: 130 };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (process.env.RELAY_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : message}\n`);
  return {
    failure: new RelayError(message, { fix: 'if this is not explained by the message, run again with RELAY_DEBUG=1 and report the output as a relay bug' }),
    exitCode: 1,
  };
}
