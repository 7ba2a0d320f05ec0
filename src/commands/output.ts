// How commands talk to the operator. Only src/commands prints; the core returns values and throws.
import chalk from 'chalk';
import { formatDuration } from '../duration.js';
import type { RelayError } from '../errors.js';
import type { PlanEvents, PlanResult } from '../plan/executor.js';
import type { Step } from '../plan/step.js';

export function printError(error: RelayError): void {
  process.stderr.write(`${chalk.red('error')} ${error.message}\n`);
  if (error.fix) process.stderr.write(`${chalk.yellow('fix')}   ${error.fix}\n`);
}

/** `✓ title (unchanged) 1.2s`, one line per step; on a terminal the running step is shown too. */
export function progressEvents(out: NodeJS.WriteStream = process.stdout): PlanEvents {
  const live = out.isTTY === true;
  return {
    onStepStart(step: Step) {
      if (live) out.write(`${chalk.dim('…')} ${step.title}`);
    },
    onStepEnd(step, outcome, durationMs) {
      if (live) out.write('\r\x1b[K');
      const mark = outcome === 'failed' ? chalk.red('✗') : outcome === 'changed' ? chalk.green('✓') : chalk.dim('✓');
      const what = outcome === 'changed' ? chalk.yellow(outcome) : outcome === 'failed' ? chalk.red(outcome) : chalk.dim(outcome);
      out.write(`${mark} ${step.title} (${what}) ${chalk.dim(formatDuration(durationMs))}\n`);
    },
  };
}

export function printSummary(result: PlanResult, out: NodeJS.WriteStream = process.stdout): void {
  const summary = result.changed === 0 ? 'no changes' : `${result.changed} changed`;
  out.write(`${chalk.bold(summary)}, ${result.unchanged} unchanged in ${formatDuration(result.durationMs)}\n`);
}
