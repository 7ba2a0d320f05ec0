// Relay settings whose values never appear in argv (so not in `ps`, shell history or CI logs):
// `--set-from-env KEY` reads the operator's environment, `--generate KEY` makes a random secret.
// Both end up as the same settings `--set KEY=VALUE` writes. Pure apart from the randomness.
import { randomBytes } from 'node:crypto';
import { RELAY_SETTING_KEYS } from './deploy-env.js';
import { ConfigError } from './shared/errors.js';
import { hasUrlCredentials } from './shared/url-credentials.js';

/** The settings relay can make up itself: secrets nobody needs to choose. */
export const GENERATED_SETTINGS: Readonly<Record<string, () => string>> = {
  RELAY_METRICS_TOKEN: () => randomBytes(32).toString('hex'),
  // The path is the Ollama clients' only credential: 128 random bits.
  RELAY_OLLAMA_PATH: () => `/${randomBytes(16).toString('hex')}`,
};

function requireSetting(flag: string, name: string): void {
  if (!(RELAY_SETTING_KEYS as readonly string[]).includes(name)) {
    throw new ConfigError(`${flag} ${name}: ${name} is not a relay setting.`, { fix: `Settings: ${RELAY_SETTING_KEYS.join(', ')}.` });
  }
}

/** `--set-from-env KEY`: KEY=VALUE pairs with each value taken from `env`; unset or empty is refused. */
export function settingsFromEnvironment(names: string[], env: NodeJS.ProcessEnv): string[] {
  return names.map((name) => {
    requireSetting('--set-from-env', name);
    const value = env[name];
    if (!value) {
      throw new ConfigError(`--set-from-env ${name}: ${name} is not set (or empty) in this environment.`, {
        fix: `Export it first without typing it on a command line, e.g. \`read -rs ${name} && export ${name}\`, or in CI from the secret store.`,
      });
    }
    return `${name}=${value}`;
  });
}

/**
 * `--generate KEY`: a fresh secret for each KEY the settings do not hold yet; one already there is
 * kept, so a re-run changes nothing. Returns the settings and the names that were generated.
 */
export function generateSettings(names: string[], current: Record<string, string>): { settings: Record<string, string>; generated: string[] } {
  const settings = { ...current };
  const generated: string[] = [];
  for (const name of names) {
    const make = GENERATED_SETTINGS[name];
    if (!make) throw new ConfigError(`--generate ${name}: relay generates only ${Object.keys(GENERATED_SETTINGS).join(', ')}.`, { fix: `Pass ${name} with --set or --set-from-env.` });
    if (settings[name] !== undefined || generated.includes(name)) continue;
    settings[name] = make();
    generated.push(name);
  }
  return { settings, generated };
}

// A URL (Redis, proxy) is a secret when it carries credentials (redis://:pass@host, http://user:pass@proxy).
const SECRET_SETTING = (name: string, value: string) => name === 'RELAY_METRICS_TOKEN' || name === 'RELAY_OLLAMA_PATH' || hasUrlCredentials(value);

/** Names of the `--set KEY=VALUE` pairs that put a secret in argv. */
export function secretsOnCommandLine(set: string[]): string[] {
  const names = set.flatMap((pair) => {
    const at = pair.indexOf('=');
    return at > 0 && SECRET_SETTING(pair.slice(0, at), pair.slice(at + 1)) ? [pair.slice(0, at)] : [];
  });
  return [...new Set(names)];
}
