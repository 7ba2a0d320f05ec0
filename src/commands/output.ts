// How commands talk to the operator. Only src/commands prints; the core returns values and throws.
import chalk from 'chalk';
import type { RelayError } from '../errors.js';

export function printError(error: RelayError): void {
  process.stderr.write(`${chalk.red('error')} ${error.message}\n`);
  if (error.fix) process.stderr.write(`${chalk.yellow('fix')}   ${error.fix}\n`);
}
