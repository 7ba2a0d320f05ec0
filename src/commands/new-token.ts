// Where a new token goes, decided before the host is touched: on a terminal it is shown once;
// without one it must go where the operator said (--save FILE, --print), or nothing changes.
import { ConfigError, RelayError } from '../shared/errors.js';
import type { Host } from '../host/host.js';
import { runPlan, type PlanResult } from '../plan/executor.js';
import type { Step } from '../plan/step.js';
import { printSecretOnce, printSummary, progressEvents, terminalMayShowSecret } from './output.js';
import { DEFAULT_TOKEN_NAME } from '../shared/tokens-file.js';
import { saveToEnvFile } from './env-file.js';

export interface TokenDestination {
  /** The label the token is known by ("default" for RELAY_TOKEN, else its name). */
  name: string;
  /** Dotenv file and variable the token is saved to (mode 600, other lines kept). */
  save?: { file: string; variable: string };
  /** Only the token on stdout, for `TOKEN=$(relay token add NAME --print)`. */
  print: boolean;
  /** Shown once on the terminal (stdout is one, and --print is not given). */
  show: boolean;
}

/** ci-bot -> RELAY_TOKEN_CI_BOT; "default" is RELAY_TOKEN itself. */
export function savedTokenName(name: string): string {
  return name === DEFAULT_TOKEN_NAME ? 'RELAY_TOKEN' : `RELAY_TOKEN_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Refuses (ConfigError) when a script would lose the token: no terminal, no --save, no --print.
 * `save` is the file the operator chose; `variable` is what the token is called in it.
 */
export function tokenDestination(
  name: string,
  options: { save?: string; variable?: string; print?: boolean },
  terminal = terminalMayShowSecret(),
): TokenDestination {
  const print = options.print === true;
  const destination: TokenDestination = { name, print, show: terminal && !print };
  if (options.save !== undefined) destination.save = { file: options.save, variable: options.variable ?? savedTokenName(name) };
  if (!destination.show && !print && destination.save === undefined) {
    throw new ConfigError(`stdout is not a terminal, so the new value of the token "${name}" would be shown nowhere and lost; nothing was changed.`, {
      fix: `Add --save FILE (saved as ${options.variable ?? savedTokenName(name)}, mode 600) or --print (only the token on stdout, e.g. TOKEN=$(relay ... --print)).`,
    });
  }
  return destination;
}

/** Where progress and summaries go: stderr when stdout carries the token alone. */
export function reportStream(destination: TokenDestination): NodeJS.WriteStream {
  return destination.print ? process.stderr : process.stdout;
}

/**
 * Puts the token where it was asked for. Called before the host changes: should the change then
 * fail, the operator still holds the value the host may already accept.
 */
export async function deliverToken(destination: TokenDestination, token: string): Promise<void> {
  const { save } = destination;
  if (save) await saveToEnvFile(save.file, save.variable, token);
  if (destination.print) process.stdout.write(`${token}\n`);
  if (save || destination.show) {
    const kept = save ? `saved to ${save.file} as ${save.variable} (mode 600)` : 'the host keeps only its hash';
    printSecretOnce({ label: `New token "${destination.name}"`, value: token, kept, show: destination.show }, reportStream(destination));
  }
}

/** One line for an error's fix: where the operator finds the value that is now live. */
export function whereSaved(destination: TokenDestination): string {
  if (destination.save) return `in ${destination.save.file} as ${destination.save.variable}`;
  return destination.print ? 'printed on stdout above' : 'shown above';
}

/**
 * Runs the steps that write the new token to the host, then delivers the token (the host now holds
 * it), then the rest (telling the relay). A failure after the write says that it was applied.
 */
export async function applyNewToken(host: Host, steps: Step[], destination: TokenDestination, token: string, change: TokenChangeKind): Promise<PlanResult> {
  const out = reportStream(destination);
  const events = progressEvents(out);
  const written = steps.findLastIndex((step) => (step.files?.length ?? 0) > 0) + 1;
  const first = await runPlan(host, steps.slice(0, written), events);
  await deliverToken(destination, token);
  let rest: PlanResult;
  try {
    rest = await runPlan(host, steps.slice(written), events);
  } catch (error) {
    throw appliedButUnchecked(destination, change, error);
  }
  const result = {
    steps: [...first.steps, ...rest.steps],
    changed: first.changed + rest.changed,
    unchanged: first.unchanged + rest.unchanged,
    durationMs: first.durationMs + rest.durationMs,
  };
  printSummary(result, out);
  return result;
}

export type TokenChangeKind = 'add' | 'rotate';

/** What went wrong after the host took the new token, where that token is, and what a re-run would do. */
export function appliedButUnchecked(destination: TokenDestination, change: TokenChangeKind, error: unknown): RelayError {
  const reason = error instanceof Error ? error.message : String(error);
  const fix = error instanceof RelayError && error.fix ? ` ${error.fix}` : '';
  const applied =
    change === 'rotate' ? `The rotation of the token "${destination.name}" was applied on the host` : `The token "${destination.name}" was added on the host`;
  const again = change === 'rotate' ? 'running the rotation again rotates again' : 'adding it again is refused (it exists)';
  return new RelayError(`${applied}, but the step after it failed: ${reason}`, {
    fix: `The new token is ${whereSaved(destination)}: use it, and do not re-run to retry (${again}).${fix}`,
    cause: error,
  });
}
