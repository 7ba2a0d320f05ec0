// The access settings the relay reads from its environment, validated once at start-up.
import { ConfigError } from '../../shared/errors.js';
import type { RelayMode } from './access-mode.js';
import type { TokenLimits } from '../../shared/tokens-file.js';
import { wholeNumber } from '../../shared/whole-number.js';

export interface AccessConfig {
  /** RELAY_MODE: 'relay' (default) or 'passthrough'. */
  mode: RelayMode;
  /** RELAY_TOKENS_FILE: named tokens (hashes only), re-read on change and SIGHUP. */
  tokensFile: string | undefined;
  /** RELAY_DATA_DIR: a writable directory for the usage store; undefined: usage is not kept. */
  dataDir: string | undefined;
  /** REDIS_URL: limits shared by every relay that points at it; undefined: in memory. */
  redisUrl: string | undefined;
  /** RELAY_METRICS_TOKEN: bearer token for GET /metrics; undefined: loopback clients only. */
  metricsToken: string | undefined;
  /** RELAY_PASSTHROUGH_RPM / RELAY_PASSTHROUGH_CONCURRENCY: per client address, passthrough mode only. */
  passthroughLimits: TokenLimits;
}

export function loadAccessConfig(env: NodeJS.ProcessEnv): AccessConfig {
  const text = (name: string) => env[name]?.trim() || undefined;
  const limit = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    const n = wholeNumber(value, 1);
    if (n === undefined) throw new ConfigError(`${name} must be a whole number of at least 1; got "${value}"`);
    return n;
  };
  const mode = text('RELAY_MODE') ?? 'relay';
  if (mode !== 'relay' && mode !== 'passthrough') {
    throw new ConfigError(`RELAY_MODE must be "relay" or "passthrough"; got "${mode}"`);
  }
  const redisUrl = text('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL.', { fix: 'For example REDIS_URL=redis://10.0.0.5:6379/0' });
  }
  return {
    mode,
    tokensFile: text('RELAY_TOKENS_FILE'),
    dataDir: text('RELAY_DATA_DIR'),
    redisUrl,
    metricsToken: text('RELAY_METRICS_TOKEN'),
    passthroughLimits: { rpm: limit('RELAY_PASSTHROUGH_RPM'), concurrency: limit('RELAY_PASSTHROUGH_CONCURRENCY') },
  };
}
