// The `relay` command line: wires subcommands to their modules, prints errors with their fix.
import { Command, CommanderError } from 'commander';
import { RelayError } from './errors.js';
import { printError } from './commands/output.js';
import { registerServe } from './commands/serve.js';

const program = new Command('relay')
  .description('Turn a fresh Ubuntu/Debian VPS into a production OpenAI relay, then operate it.')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
Examples:
  $ relay serve                                  run the relay locally on 127.0.0.1:3001
  $ relay init --host root@203.0.113.7 --domain relay.example.com --email ops@example.com`,
  );

registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (error instanceof RelayError) {
    printError(error);
    process.exit(1);
  }
  throw error;
}
