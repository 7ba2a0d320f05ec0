// RELAY_TOKEN across deploys: its hash is the "default" entry of the host's tokens.json (the one
// registry), its value is the operator's (RELAY_TOKEN in .env.local). A host deployed before the
// registry held RELAY_TOKEN in clear in its .env: the next deploy moves its hash into tokens.json,
// same token, and the .env is then rewritten without it. Pure; the caller reads and writes.
import { parseDotenv } from '../shared/env-local.js';
import { ConfigError } from '../shared/errors.js';
import { DEFAULT_TOKEN_NAME, rotateToken, sha256Hex, withDefaultToken, type TokensFile } from '../shared/tokens-file.js';
import { fingerprintFromSha256, generateRelayToken } from '../shared/token.js';

export interface DefaultTokenChoice {
  token: string;
  /**
   * 'kept': .env.local's, already the host's; 'generated' on a first deploy; 'rotated' on
   * --rotate-token; 'migrated': the host's .env held it in clear, its hash now goes to tokens.json.
   */
  origin: 'kept' | 'generated' | 'rotated' | 'migrated';
  /** The registry to write: the same object when nothing changes. */
  tokens: TokensFile;
}

export interface DefaultTokenInput {
  /** The host's tokens.json (empty when it has none). */
  tokens: TokensFile;
  /** The host's .env as it is, for a host deployed before the registry. */
  hostEnvText?: string;
  /** RELAY_TOKEN from the operator's .env.local. */
  localToken?: string;
  rotate?: boolean;
  now: number;
  generate?: () => string;
}

/** RELAY_TOKEN (and a rotation's previous token, while in its grace) as an old host's .env holds them. */
export function legacyEnvToken(envText: string, now: number): { token: string; previous?: { sha256: string; until: string } } | undefined {
  const env = parseDotenv(envText);
  const token = env.RELAY_TOKEN?.trim();
  if (!token) return undefined;
  const previous = env.RELAY_TOKEN_PREVIOUS?.trim();
  const until = Date.parse(env.RELAY_TOKEN_PREVIOUS_UNTIL ?? '');
  if (!previous || !Number.isFinite(until) || until <= now) return { token };
  return { token, previous: { sha256: sha256Hex(previous), until: new Date(until).toISOString() } };
}

/**
 * Which RELAY_TOKEN this deploy uses and what tokens.json becomes. A host with a "default" keeps it,
 * and the operator must hold its value (the deploy verifies with it); refused before any change otherwise.
 */
export function chooseDefaultToken(input: DefaultTokenInput): DefaultTokenChoice {
  const generate = input.generate ?? generateRelayToken;
  const existing = input.tokens.tokens.find((entry) => entry.name === DEFAULT_TOKEN_NAME);
  if (input.rotate) {
    const token = generate();
    const tokens = existing ? rotateToken(input.tokens, DEFAULT_TOKEN_NAME, sha256Hex(token), 0, input.now) : withDefaultToken(input.tokens, sha256Hex(token), input.now);
    return { token, origin: 'rotated', tokens };
  }
  if (existing) {
    if (input.localToken !== undefined && !existing.revoked && sha256Hex(input.localToken) === existing.sha256) {
      return { token: input.localToken, origin: 'kept', tokens: input.tokens };
    }
    const fingerprint = fingerprintFromSha256(existing.sha256);
    const what = input.localToken === undefined ? 'The env file has no RELAY_TOKEN' : `The env file's RELAY_TOKEN is not the host's "default" token`;
    throw new ConfigError(`${what}: the host holds only the hash of its token (${fingerprint}), and deploy verifies the relay with the value. Nothing was changed.`, {
      fix: 'Put the RELAY_TOKEN your clients use in the env file (--env-file, default .env.local), or make a new one with `relay rotate-token` (it saves it there).',
    });
  }
  const legacy = input.hostEnvText === undefined ? undefined : legacyEnvToken(input.hostEnvText, input.now);
  if (legacy) return { token: legacy.token, origin: 'migrated', tokens: withDefaultToken(input.tokens, sha256Hex(legacy.token), input.now, legacy.previous) };
  const token = generate();
  return { token, origin: 'generated', tokens: withDefaultToken(input.tokens, sha256Hex(token), input.now) };
}
