// Live token reload: the relay re-reads its tokens from RELAY_ENV_FILE (the host's .env, mounted
// read-only) when the file changes or on SIGHUP, so `relay rotate-token` needs no restart.
// Only the token lines are read; the rest of the file is the container's start-up env.
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pickEnvValue } from '../shared/env-local.js';
import type { TokenSet } from './auth.js';
import { watchFile } from './watch-file.js';

export const PREVIOUS_TOKEN = 'RELAY_TOKEN_PREVIOUS';
export const PREVIOUS_TOKEN_UNTIL = 'RELAY_TOKEN_PREVIOUS_UNTIL';

/** The token set in a dotenv text, or undefined when it names no current token (never "open"). */
export function tokensFromEnvText(text: string): TokenSet | undefined {
  const current = pickEnvValue(text, 'RELAY_TOKEN') ?? pickEnvValue(text, 'OPENAI_RELAY_TOKEN');
  if (current === undefined) return undefined;
  const previousToken = pickEnvValue(text, PREVIOUS_TOKEN);
  const until = Date.parse(pickEnvValue(text, PREVIOUS_TOKEN_UNTIL) ?? '');
  return previousToken && Number.isFinite(until) ? { current, previous: { token: previousToken, until } } : { current };
}

export async function readTokenFile(path: string): Promise<TokenSet | undefined> {
  return tokensFromEnvText(await readFile(path, 'utf8'));
}

/** Calls `onChange` when RELAY_ENV_FILE may have changed (see watch-file.ts). */
export function watchTokenFile(path: string, onChange: () => void): FSWatcher {
  return watchFile(path, onChange);
}
