// How commands talk to the operator. Only src/commands prints; the core returns values and throws.
import { StringDecoder } from 'node:string_decoder';
import { stripVTControlCharacters } from 'node:util';
import chalk from 'chalk';
import { formatDuration } from '../shared/duration.js';
import { RelayError } from '../shared/errors.js';
import { tokenFingerprint } from '../shared/token.js';
import type { Host } from '../host/host.js';
import { runPlan, type PlanEvents, type PlanResult } from '../plan/executor.js';
import { describePlan } from '../plan/render-plan.js';
import type { Step } from '../plan/step.js';

export function printError(error: RelayError): void {
  // Messages quote host output (a step's stderr), so they are made safe like it.
  process.stderr.write(`${chalk.red('error')} ${terminalSafe(error.message)}\n`);
  if (error.fix) process.stderr.write(`${chalk.yellow('fix')}   ${terminalSafe(error.fix)}\n`);
}

/**
 * commander's own refusals (an unknown option, a missing argument, a value an argParser refused)
 * in the same error + fix shape: the line after commander's message, if any, is the fix
 * (InvalidFlagError puts it there; commander puts its "(Did you mean --x?)" there).
 */
export function printCommanderError(text: string): void {
  const [message = '', ...rest] = text.trim().replace(/^error: /, '').split('\n');
  const fix = rest.join(' ').replace(/^\((.*)\)$/, '$1');
  printError(new RelayError(message, { fix: fix || 'run the command with --help: it lists its options, with examples' }));
}

// C0 controls but \t and \n, DEL and C1 controls: what can retitle, clear or rewrite a terminal.
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text from a host, fit for the operator's terminal: escape sequences (node:util's
 * stripVTControlCharacters) and then every other control character but \n and \t dropped.
 */
export function terminalSafe(text: string): string {
  return stripVTControlCharacters(text).replace(CONTROL_CHARACTERS, '');
}

/** Writes a host's output stream chunk by chunk, UTF-8 decoded across chunks, made terminalSafe. */
export function hostOutputTo(out: NodeJS.WritableStream): (chunk: Buffer) => void {
  const decoder = new StringDecoder('utf8');
  return (chunk) => {
    out.write(terminalSafe(decoder.write(chunk)));
  };
}

/**
 * Like hostOutputTo, but only the whole lines `keep` accepts; a line split across chunks is held
 * until its end arrives (or `end()`).
 */
export function hostLinesTo(out: NodeJS.WritableStream, keep: (line: string) => boolean): { write(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (lines: string[]) => {
    const kept = lines.filter(keep);
    if (kept.length > 0) out.write(terminalSafe(`${kept.join('\n')}\n`));
  };
  return {
    write(chunk) {
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop()!;
      emit(lines);
    },
    end() {
      const rest = partial + decoder.end();
      partial = '';
      if (rest !== '') emit([rest]);
    },
  };
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

/** Whether a new secret may be shown: stdout is a person's terminal, and not only its fingerprint was asked for. */
export function terminalMayShowSecret(fingerprintOnly = false): boolean {
  return process.stdout.isTTY === true && !fingerprintOnly;
}

/**
 * A new secret, once: its label, fingerprint and where it is `kept`, and the value itself only when
 * `show` (see terminalMayShowSecret). Logs, pipes and CI output get the fingerprint, never the value.
 */
export function printSecretOnce(secret: { label: string; value: string; kept: string; show: boolean }, out: NodeJS.WritableStream = process.stdout): void {
  const head = `${secret.label} (${tokenFingerprint(secret.value)})`;
  if (secret.show) out.write(`${head}, shown once; ${secret.kept}:\n  ${chalk.bold(secret.value)}\n`);
  else out.write(`${head}; ${secret.kept}\n`);
}

/** `--json`: the value as indented JSON on stdout, for jq. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Rows (the first is the header) as columns two spaces apart, each as wide as its widest cell;
 * the columns in `alignRight` (numbers) align right. Cells may come from a host or a client (a
 * model name), so each is made terminalSafe first.
 */
export function printTable(rows: string[][], options: { alignRight?: number[]; out?: NodeJS.WritableStream } = {}): void {
  const { alignRight = [], out = process.stdout } = options;
  const safe = rows.map((row) => row.map((cell) => terminalSafe(cell)));
  const widths = safe[0]!.map((_, i) => Math.max(...safe.map((row) => row[i]!.length)));
  for (const row of safe) {
    out.write(`${row.map((cell, i) => (alignRight.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()}\n`);
  }
}

export function printSummary(result: PlanResult, out: NodeJS.WriteStream = process.stdout): void {
  const summary = result.changed === 0 ? 'no changes' : `${result.changed} changed`;
  out.write(`${chalk.bold(summary)}, ${result.unchanged} unchanged in ${formatDuration(result.durationMs)}\n`);
}

/** Runs the steps on the host, a progress line each (progressEvents), then the summary line. */
export async function runWithProgress(host: Host, steps: Step[], out: NodeJS.WriteStream = process.stdout): Promise<PlanResult> {
  const result = await runPlan(host, steps, progressEvents(out));
  printSummary(result, out);
  return result;
}

/** What a dry run prints: `Plan (nothing is changed[; note]):` and the steps. */
export function printPlan(steps: Step[], note?: string, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`Plan (nothing is changed${note === undefined ? '' : `; ${note}`}):\n\n${describePlan(steps)}`);
}
