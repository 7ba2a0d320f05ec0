// Saving a secret to the operator's env file from a command: the core writes it, this warns.
import chalk from 'chalk';
import { writeEnvFileValue } from '../shared/env-local.js';

/** Sets `name` in the env file (mode 600); warns when others could read the file until now. */
export async function saveToEnvFile(path: string, name: string, value: string): Promise<void> {
  const { wasReadableByOthers } = await writeEnvFileValue(path, name, value);
  if (wasReadableByOthers) {
    process.stderr.write(
      chalk.yellow(`! ${path} was readable by other users; it is mode 600 now, but the secrets in it may have been read: rotate them if others can log in here.\n`),
    );
  }
}
