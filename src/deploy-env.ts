// The host's .env: exactly what the relay container needs and nothing else. OPENAI_API_KEY comes
// from the operator's .env.local (only that line is ever read), OPENAI_BASE_URL only when asked
// for. No token: RELAY_TOKEN's hash is the "default" entry of tokens.json (default-token.ts).
// Pure functions apart from readLocalApiKey.
import { parseDotenv, readEnvFileValue } from './shared/env-local.js';
import { ConfigError } from './shared/errors.js';
import { parseDump } from './shared/dump-settings.js';
import { parseProxyUrl, parseUpstream } from './shared/upstream-url.js';

export interface DeployEnv {
  OPENAI_API_KEY: string;
  OPENAI_BASE_URL?: string;
  /** Relay settings given with `--set KEY=VALUE` (only RELAY_SETTING_KEYS), kept across deploys. */
  settings?: Record<string, string>;
}

/**
 * Relay settings an operator may put in the host's .env with `relay deploy --set KEY=VALUE`.
 * Nothing else from anywhere reaches it.
 */
export const RELAY_SETTING_KEYS = [
  'RELAY_PATH_PREFIX',
  'RELAY_CORS_ORIGINS',
  'RELAY_MODELS',
  'RELAY_OLLAMA_PATH',
  'RELAY_ANTHROPIC',
  'RELAY_ANTHROPIC_MODELS',
  'RELAY_MODE',
  'RELAY_OPENAI_ORGANIZATION',
  'RELAY_OPENAI_PROJECT',
  'RELAY_METRICS_TOKEN',
  'REDIS_URL',
  'RELAY_PASSTHROUGH_RPM',
  'RELAY_PASSTHROUGH_CONCURRENCY',
  'RELAY_CONNECT_TIMEOUT',
  'RELAY_FIRST_BYTE_TIMEOUT',
  'RELAY_IDLE_TIMEOUT',
  'RELAY_CLIENT_HEADER_TIMEOUT',
  'RELAY_CLIENT_BODY_TIMEOUT',
  'RELAY_SHUTDOWN_GRACE',
  // The outbound proxy to the upstream (src/relay/outbound-proxy.ts).
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  // The redacted dump of each exchange (src/relay/dump.ts), for debugging a client.
  'RELAY_DUMP',
  'RELAY_DUMP_MAX_BODY',
] as const;

const PROXY_SETTINGS = new Set(['HTTPS_PROXY', 'HTTP_PROXY']);

/** The only keys the host's .env ever holds. */
export const DEPLOY_ENV_KEYS = ['OPENAI_API_KEY', 'OPENAI_BASE_URL', ...RELAY_SETTING_KEYS] as const;

// Written unquoted, so a value must survive Compose's env_file parser as-is: no whitespace,
// quotes, `#` (comment), `$` (interpolation) or backslash.
const SAFE_VALUE_CHARS = /^[\x21-\x7e]+$/;
const UNSAFE_CHARS = /["'#$\\]/;

function checkValue(name: string, value: string): string {
  if (!SAFE_VALUE_CHARS.test(value) || UNSAFE_CHARS.test(value)) {
    // Never echo the value: it may be a key.
    throw new ConfigError(`${name} holds characters the host's .env cannot carry unquoted (whitespace, quotes, #, $ or \\).`, {
      fix: `Check the ${name} line in your .env.local: the value should be a plain key such as sk-...`,
    });
  }
  return value;
}

/** The .env text for the host, keys in a fixed order so an unchanged deploy writes identical bytes. */
export function renderDeployEnv(env: DeployEnv): string {
  const lines = [
    '# Written by `relay deploy`. Only what the relay container needs; mode 600, root only.',
    `OPENAI_API_KEY=${checkValue('OPENAI_API_KEY', env.OPENAI_API_KEY)}`,
  ];
  if (env.OPENAI_BASE_URL !== undefined) lines.push(`OPENAI_BASE_URL=${checkValue('OPENAI_BASE_URL', env.OPENAI_BASE_URL)}`);
  for (const name of Object.keys(env.settings ?? {}).sort()) lines.push(`${name}=${checkValue(name, env.settings![name]!)}`);
  return `${lines.join('\n')}\n`;
}

/** Parses the host's existing .env (as written by renderDeployEnv, or edited by hand). */
export function parseHostEnv(text: string): Record<string, string> {
  return parseDotenv(text);
}

/** Builds the DeployEnv; validates the base URL the same way the relay will. */
export function buildDeployEnv(input: { apiKey: string; baseUrl?: string }): DeployEnv {
  const env: DeployEnv = { OPENAI_API_KEY: input.apiKey };
  if (input.baseUrl !== undefined) {
    parseUpstream(input.baseUrl);
    env.OPENAI_BASE_URL = input.baseUrl;
  }
  return env;
}

/**
 * The relay settings for the host: those already in its .env, then `--set KEY=VALUE` over them,
 * minus `--unset KEY`. A key outside RELAY_SETTING_KEYS is refused by name.
 */
export function relaySettings(existingEnvText: string | undefined, set: string[] = [], unset: string[] = []): Record<string, string> {
  const allowed = new Set<string>(RELAY_SETTING_KEYS);
  const refuse = (name: string) => {
    throw new ConfigError(`${name} is not a relay setting --set can write.`, { fix: `Settings: ${RELAY_SETTING_KEYS.join(', ')}.` });
  };
  const settings: Record<string, string> = {};
  const existing = existingEnvText === undefined ? {} : parseHostEnv(existingEnvText);
  for (const [name, value] of Object.entries(existing)) if (allowed.has(name)) settings[name] = value;
  for (const pair of set) {
    const at = pair.indexOf('=');
    const name = at === -1 ? pair : pair.slice(0, at);
    if (at === -1) throw new ConfigError(`--set ${name}: expected KEY=VALUE.`, { fix: 'For example --set RELAY_MODELS=gpt-4o-mini,fast=gpt-4o-mini' });
    if (!allowed.has(name)) refuse(name);
    settings[name] = checkValue(name, pair.slice(at + 1));
    if (PROXY_SETTINGS.has(name)) parseProxyUrl(name, settings[name]);
  }
  for (const name of unset) {
    if (!allowed.has(name)) refuse(name);
    delete settings[name];
  }
  // Refused here as the relay would refuse it at start, before the host is touched.
  parseDump(settings.RELAY_DUMP, settings.RELAY_DUMP_MAX_BODY);
  return settings;
}

/** Reads OPENAI_API_KEY (only that line) from the operator's .env.local; missing is an error. */
export async function readLocalApiKey(envFile: string): Promise<string> {
  const key = (await readEnvFileValue(envFile, 'OPENAI_API_KEY'))?.trim();
  if (!key) {
    throw new ConfigError(`No OPENAI_API_KEY in ${envFile}: the relay on the host needs a key to call OpenAI with.`, {
      fix: `Add a line OPENAI_API_KEY=sk-... to ${envFile} (only that line is sent to the host), or pass --env-file.`,
    });
  }
  return key;
}
