// Flags that several commands take, each defined once: a commander Option whose argParser refuses a
// bad value while argv is parsed, so no action runs and nothing connects (issue 15.9, issue 17.5).
import { InvalidArgumentError, Option } from 'commander';
import { APP_DIR_FIX, appDirRefusal } from '../app-dir.js';
import { DEFAULT_APP_DIR } from '../plan/operate.js';
import type { ProjectSettings } from '../project-file.js';
import { wholeNumber } from '../shared/whole-number.js';

/**
 * A flag value refused by its argParser. commander prints "error: option ... is invalid. <message>";
 * the fix rides on the message's second line, and printCommanderError turns both into error + fix.
 */
export class InvalidFlagError extends InvalidArgumentError {
  constructor(message: string, fix: string) {
    super(`${message}\n${fix}`);
  }
}

/** `--app-dir <path>`: a system directory or a path that is not plain is refused before any action. */
export function appDirOption(): Option {
  return new Option('--app-dir <path>', `where the relay lives on the host (default: from relay.json, else ${DEFAULT_APP_DIR})`).argParser((path: string) => {
    const refusal = appDirRefusal(path);
    if (refusal !== undefined) throw new InvalidFlagError(`${path} ${refusal}`, APP_DIR_FIX);
    return path;
  });
}

/** --app-dir, else relay.json's appDir, else the default; the first two were checked when read. */
export function chooseAppDir(flag: string | undefined, project: ProjectSettings): string {
  return flag ?? project.appDir ?? DEFAULT_APP_DIR;
}

/** An option taking a whole number in min..max, e.g. `--rpm <n>`; `example` is a good value. */
export function wholeNumberOption(flags: string, description: string, range: { min: number; max?: number; example: number }): Option {
  const option = new Option(flags, description);
  const expected = range.max === undefined ? `a whole number of at least ${range.min}` : `a whole number from ${range.min} to ${range.max}`;
  return option.argParser((text: string) => {
    const n = wholeNumber(text, range.min, range.max);
    if (n === undefined) throw new InvalidFlagError(`It must be ${expected}.`, `pass a value such as ${option.long} ${range.example}`);
    return n;
  });
}
