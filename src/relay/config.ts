// Everything the relay server reads from its environment, validated once at start-up.
import { ConfigError } from '../shared/errors.js';
import { parseDuration } from '../shared/duration.js';
import { loadAccessConfig, type AccessConfig } from './access/config.js';
import { parseCorsOrigins, type CorsPolicy } from './cors.js';
import { parseModelPolicy, type ModelPolicy } from './models.js';
import { parseAnthropicModels, type AnthropicModels } from './anthropic/models.js';
import { outboundProxyFor, type OutboundProxy } from './outbound-proxy.js';
import { type DumpConfig, parseDump } from '../shared/dump-settings.js';
import { parseUpstream, type UpstreamUrl } from '../shared/upstream-url.js';
import { wholeNumber } from '../shared/whole-number.js';

export interface Upstream extends UpstreamUrl {
  /** The outbound proxy every upstream call goes through (HTTPS_PROXY / HTTP_PROXY, minus NO_PROXY). */
  proxy?: OutboundProxy;
}

export interface Timeouts {
  /** TCP+TLS connect to the upstream; through an outbound proxy, its answer to CONNECT as well. */
  connectMs: number;
  /** Request sent -> upstream response headers. Long for non-streamed reasoning answers. */
  firstByteMs: number;
  /** Longest silence between two body chunks from the upstream. */
  idleMs: number;
  /** A client must finish sending its request headers within this (slowloris guard). */
  clientHeadersMs: number;
  /** Longest silence while a client sends its request body (the same guard for bodies). */
  clientBodyMs: number;
}

export interface RelayConfig {
  apiKey: string;
  /**
   * RELAY_TOKEN: "default" while the tokens file (RELAY_TOKENS_FILE) has no "default" of its own.
   * Neither: the relay is open, and anyone who reaches it spends the key.
   */
  token: string | undefined;
  upstream: Upstream;
  port: number;
  host: string;
  timeouts: Timeouts;
  /** Named tokens, limits, usage, metrics, passthrough (RELAY_MODE, RELAY_TOKENS_FILE, ...). */
  access: AccessConfig;
  /** How long in-flight requests and streams may run after SIGTERM. */
  shutdownGraceMs: number;
  /** The API is served at `${pathPrefix}/v1/...` ('' by default, RELAY_PATH_PREFIX). */
  pathPrefix: string;
  /** Browser origins allowed to call the relay (RELAY_CORS_ORIGINS); undefined: no CORS at all. */
  cors: CorsPolicy | undefined;
  /** Model allow-list and aliases (RELAY_MODELS); undefined: any model, and no body is parsed. */
  models: ModelPolicy | undefined;
  /** Secret path the Ollama API emulation lives under (RELAY_OLLAMA_PATH); undefined: off. */
  ollamaPath: string | undefined;
  /** The Anthropic Messages API (RELAY_ANTHROPIC=on or RELAY_ANTHROPIC_MODELS); undefined: off. */
  anthropic: AnthropicModels | undefined;
  /** OpenAI-Organization / OpenAI-Project sent with the server key (RELAY_OPENAI_ORGANIZATION / _PROJECT); clients' are dropped. */
  openaiOrganization: string | undefined;
  openaiProject: string | undefined;
  /** Each exchange as a redacted JSON line in the log (RELAY_DUMP=headers|bodies); undefined: off. */
  dump: DumpConfig | undefined;
}

export const DEFAULT_BASE_URL = 'https://api.openai.com';
export const DEFAULT_PORT = 3001;

export interface ConfigOverrides {
  port?: number;
  host?: string;
}

export function loadRelayConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): RelayConfig {
  const access = loadAccessConfig(env);
  // In passthrough mode clients bring their own key; the server holds none.
  const apiKey = env.OPENAI_API_KEY?.trim() || (access.mode === 'passthrough' ? '' : undefined);
  if (apiKey === undefined) {
    throw new ConfigError('OPENAI_API_KEY is not set: the relay has no key to call OpenAI with.', {
      fix: 'Set OPENAI_API_KEY in the environment (or in ./.env.local for `relay serve`) and start it again.',
    });
  }
  const relayToken = (env.RELAY_TOKEN ?? env.OPENAI_RELAY_TOKEN)?.trim() || undefined;
  const duration = (name: string, fallback: string) => parseDuration(env[name] ?? fallback, name);
  const upstream = parseUpstream(env.OPENAI_BASE_URL?.trim() || DEFAULT_BASE_URL);
  return {
    apiKey,
    token: relayToken,
    upstream: { ...upstream, proxy: outboundProxyFor(upstream.origin, env) },
    port: overrides.port ?? parsePort(env.PORT),
    host: overrides.host ?? env.HOST ?? '0.0.0.0',
    timeouts: {
      connectMs: duration('RELAY_CONNECT_TIMEOUT', '10s'),
      firstByteMs: duration('RELAY_FIRST_BYTE_TIMEOUT', '15m'),
      idleMs: duration('RELAY_IDLE_TIMEOUT', '5m'),
      clientHeadersMs: duration('RELAY_CLIENT_HEADER_TIMEOUT', '30s'),
      clientBodyMs: duration('RELAY_CLIENT_BODY_TIMEOUT', '60s'),
    },
    access,
    shutdownGraceMs: duration('RELAY_SHUTDOWN_GRACE', '30s'),
    pathPrefix: parsePathPrefix(env.RELAY_PATH_PREFIX),
    cors: parseCorsOrigins(env.RELAY_CORS_ORIGINS),
    models: parseModelPolicy(env.RELAY_MODELS),
    ollamaPath: parseOllamaPath(env.RELAY_OLLAMA_PATH),
    anthropic: parseAnthropic(env.RELAY_ANTHROPIC, env.RELAY_ANTHROPIC_MODELS),
    openaiOrganization: parseHeaderValue(env.RELAY_OPENAI_ORGANIZATION, 'RELAY_OPENAI_ORGANIZATION', 'org-...'),
    openaiProject: parseHeaderValue(env.RELAY_OPENAI_PROJECT, 'RELAY_OPENAI_PROJECT', 'proj_...'),
    dump: parseDump(env.RELAY_DUMP, env.RELAY_DUMP_MAX_BODY),
  };
}

/** On with RELAY_ANTHROPIC=on, or with a model mapping; RELAY_ANTHROPIC=off wins over a mapping. */
function parseAnthropic(switchText: string | undefined, modelsText: string | undefined): AnthropicModels | undefined {
  const value = switchText?.trim().toLowerCase() ?? '';
  if (!['', 'on', 'off'].includes(value)) {
    throw new ConfigError(`RELAY_ANTHROPIC must be on or off; got "${switchText?.slice(0, 20)}"`, {
      fix: 'Set RELAY_ANTHROPIC=on to serve the Anthropic Messages API (Claude Code), or leave it unset.',
    });
  }
  const models = parseAnthropicModels(modelsText);
  if (value === 'off' || (value === '' && models.families.size === 0)) return undefined;
  return models;
}

const PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/** Segments of letters, digits and . _ ~ -, none of them `.` or `..`. */
function isPlainPath(path: string): boolean {
  return PATH.test(path) && !path.split('/').some((segment) => segment === '.' || segment === '..');
}

function parsePathPrefix(text: string | undefined): string {
  const prefix = text?.trim().replace(/\/+$/, '') ?? '';
  if (prefix === '') return '';
  if (!isPlainPath(prefix)) {
    throw new ConfigError(`RELAY_PATH_PREFIX must be a path such as /openai; got "${text}"`, {
      fix: 'Use letters, digits and . _ ~ - in segments that start with /.',
    });
  }
  return prefix;
}

/** The Ollama path is the only credential Ollama clients can send, so it must be hard to guess. */
function parseOllamaPath(text: string | undefined): string | undefined {
  const path = text?.trim().replace(/\/+$/, '');
  if (!path) return undefined;
  const secret = path.split('/').at(-1) ?? '';
  if (!isPlainPath(path) || secret.length < 16) {
    throw new ConfigError('RELAY_OLLAMA_PATH must be a path ending in a secret of at least 16 characters (letters, digits, . _ ~ -).', {
      fix: 'Generate one: RELAY_OLLAMA_PATH=/$(openssl rand -hex 16)',
    });
  }
  return path;
}

/** An id sent as a header value: printable ASCII without spaces. */
function parseHeaderValue(text: string | undefined, name: string, example: string): string | undefined {
  const value = text?.trim();
  if (!value) return undefined;
  if (!/^[\x21-\x7e]+$/.test(value))
    throw new ConfigError(`${name} must be an id such as ${example}; got "${value.slice(0, 40)}"`, {
      fix: `Copy the id from platform.openai.com (${example}).`,
    });
  return value;
}

function parsePort(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return DEFAULT_PORT;
  const port = wholeNumber(text.trim(), 0, 65_535);
  if (port === undefined) {
    throw new ConfigError(`PORT must be a whole number from 0 to 65535; got "${text}"`);
  }
  return port;
}
