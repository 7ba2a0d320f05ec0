// Shared: the relay's timeout settings and the CLI's --since/--expires flags read durations alike.
import { ConfigError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses "250ms", "30s", "10m", "2h", "30d"; a bare number means seconds.
 * `0` is allowed and means "no limit" wherever a timeout takes it.
 */
export function parseDuration(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) {
    throw new ConfigError(`${what} must be a duration like 500ms, 30s, 10m or 2h; got "${text}"`);
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1_000)}s`;
}
