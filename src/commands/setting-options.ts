// `--set-from-env KEY` and `--generate KEY` for `relay deploy` and `relay init`: relay settings
// whose values never appear in argv. Parsing, the warning for a secret given with --set, saving.
import chalk from 'chalk';
import type { Command } from 'commander';
import { GENERATED_SETTINGS, secretsOnCommandLine, settingsFromEnvironment } from '../setting-sources.js';
import { saveToEnvFile } from './env-file.js';

/** Commander's way to take an option more than once. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface SettingFlags {
  set: string[];
  setFromEnv: string[];
  generate: string[];
}

export function addSecretSettingOptions(command: Command): Command {
  return command
    .option('--set-from-env <KEY>', 'a relay setting whose value is read from the environment variable KEY, never from argv, e.g. REDIS_URL (repeatable)', collect, [])
    .option('--generate <KEY>', `generate a secret setting the host does not have yet (${Object.keys(GENERATED_SETTINGS).join(', ')}); it is saved to --env-file (repeatable)`, collect, []);
}

/** The pairs for the host's .env from --set and --set-from-env; warns about secrets in argv. */
export function settingPairs(flags: SettingFlags): string[] {
  for (const name of secretsOnCommandLine(flags.set)) {
    const ways = name in GENERATED_SETTINGS ? `--set-from-env ${name} or --generate ${name}` : `--set-from-env ${name}`;
    process.stderr.write(chalk.yellow(`! ${name} given with --set is visible in ps and shell history: use ${ways}.\n`));
  }
  return [...flags.set, ...settingsFromEnvironment(flags.setFromEnv, process.env)];
}

/** Saves what --generate made to the operator's env file (mode 600) before the host is changed. */
export async function saveGenerated(envFile: string, generated: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(generated)) {
    await saveToEnvFile(envFile, name, value);
    process.stdout.write(`${name} generated and saved to ${envFile} (mode 600)\n`);
  }
}
