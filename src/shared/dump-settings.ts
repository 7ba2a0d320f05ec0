// Shared: RELAY_DUMP's rules; `relay deploy --set` refuses a bad value before the host is touched, the relay at start.
import { ConfigError } from './errors.js';
import { wholeNumber } from './whole-number.js';

export type DumpMode = 'headers' | 'bodies';

export interface DumpConfig {
  mode: DumpMode;
  /** Bytes of each body kept (RELAY_DUMP_MAX_BODY); the rest is counted, not held. */
  maxBodyBytes: number;
}

export const DEFAULT_DUMP_MAX_BODY = 64 * 1024;
const MAX_BODY_LIMIT = 1024 * 1024;

/** RELAY_DUMP=off|headers|bodies and RELAY_DUMP_MAX_BODY; undefined: off. */
export function parseDump(mode: string | undefined, maxBody: string | undefined): DumpConfig | undefined {
  const value = mode?.trim().toLowerCase() || 'off';
  if (value !== 'off' && value !== 'headers' && value !== 'bodies') {
    throw new ConfigError(`RELAY_DUMP must be off, headers or bodies; got "${mode?.slice(0, 20)}"`, {
      fix: 'Set RELAY_DUMP=headers (or bodies) while debugging a client, and RELAY_DUMP=off (or nothing) otherwise.',
    });
  }
  const limit = maxBody?.trim() ? wholeNumber(maxBody.trim(), 1, MAX_BODY_LIMIT) : DEFAULT_DUMP_MAX_BODY;
  if (limit === undefined) {
    throw new ConfigError(`RELAY_DUMP_MAX_BODY must be a whole number of bytes from 1 to ${MAX_BODY_LIMIT}; got "${maxBody?.slice(0, 20)}"`, {
      fix: `Leave it unset for ${DEFAULT_DUMP_MAX_BODY} bytes per body, or set e.g. RELAY_DUMP_MAX_BODY=16384.`,
    });
  }
  return value === 'off' ? undefined : { mode: value, maxBodyBytes: limit };
}
