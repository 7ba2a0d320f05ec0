// `relay token add|list|revoke|rotate` and `relay usage`: the host's tokens file (the one registry,
// RELAY_TOKEN as "default") rewritten with the pure edits of tokens-file.ts (hashes only, mode 600
// root), the running relay told by SIGHUP, and usage read by the relay bundle inside its container.
import { ConfigError, RelayError } from '../shared/errors.js';
import type { Host } from '../host/host.js';
import { shellQuote } from '../host/shell.js';
import { CONTAINER_NAME } from '../plan/operate.js';
import type { Step } from '../plan/step.js';
import type { UsageReport } from '../shared/usage-report.js';
import {
  addToken,
  DEFAULT_TOKEN_NAME,
  emptyTokensFile,
  parseTokensFile,
  renderTokensFile,
  revokeToken,
  rotateToken,
  sha256Hex,
  tokenState,
  type TokenLimits,
  type TokensFile,
  type TokenState,
} from '../shared/tokens-file.js';
import { fingerprintFromSha256, generateRelayToken, tokenFingerprint } from '../shared/token.js';
import { readHostFile } from './deploy.js';

export const TOKENS_FILE_NAME = 'tokens.json';
/** Where the relay container sees the app directory (compose.yaml mounts it read-only). */
export const CONTAINER_APP_DIR = '/etc/relay';

export function tokensFilePath(appDir: string): string {
  return `${appDir}/${TOKENS_FILE_NAME}`;
}

/** Write the file (atomically, root-only), then have the relay re-read it at once. */
export function tokensFileSteps(appDir: string, file: TokensFile, title: string): Step[] {
  return [
    {
      id: 'tokens.file',
      title,
      files: [{ path: tokensFilePath(appDir), content: renderTokensFile(file), mode: '0600', owner: 'root:root' }],
      apply: [],
    },
    {
      id: 'tokens.reload',
      title: 'Tell the running relay to re-read its tokens (no restart)',
      apply: [`docker kill --signal HUP ${CONTAINER_NAME} >/dev/null`],
      fix: 'Is the relay running? `relay status` shows it; `relay restart` applies the tokens file with a restart.',
    },
  ];
}

export async function readHostTokens(host: Host, appDir: string): Promise<TokensFile> {
  const text = await readHostFile(host, tokensFilePath(appDir));
  return text === undefined ? emptyTokensFile() : parseTokensFile(text, `${host.label}:${tokensFilePath(appDir)}`);
}

export interface TokenChange {
  steps: Step[];
  /** The new token for add and rotate: shown once, never written anywhere. */
  token?: string;
  fingerprint?: string;
}

export interface AddOptions extends TokenLimits {
  expiresInMs?: number;
}

export function planTokenAdd(appDir: string, file: TokensFile, name: string, options: AddOptions, now: number, token = generateRelayToken()): TokenChange {
  const next = addToken(file, { name, sha256: sha256Hex(token), ...options }, now);
  return { steps: tokensFileSteps(appDir, next, `Add the token "${name}" to ${tokensFilePath(appDir)}`), token, fingerprint: tokenFingerprint(token) };
}

export function planTokenRevoke(appDir: string, file: TokensFile, name: string, now: number): TokenChange {
  return { steps: tokensFileSteps(appDir, revokeToken(file, name, now), `Revoke the token "${name}" in ${tokensFilePath(appDir)}`) };
}

export function planTokenRotate(appDir: string, file: TokensFile, name: string, graceMs: number, now: number, token = generateRelayToken()): TokenChange {
  const next = rotateToken(file, name, sha256Hex(token), graceMs, now);
  return { steps: tokensFileSteps(appDir, next, `Rotate the token "${name}" in ${tokensFilePath(appDir)}`), token, fingerprint: tokenFingerprint(token) };
}

/** Runs the relay bundle's `usage` subcommand in the container: the store is the relay's own. */
export function usageCommand(since: string): string {
  return `docker exec ${CONTAINER_NAME} node /app/relay-server.mjs usage --since ${shellQuote(since)} --json`;
}

export async function readUsage(host: Host, since: string): Promise<UsageReport> {
  const result = await host.run(usageCommand(since), { sudo: true });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let parsed: (UsageReport & { error?: undefined }) | { error: string; fix?: string } | undefined;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  if (parsed?.error !== undefined) throw new ConfigError(`the relay on ${host.label} keeps no usage: ${parsed.error}`, { fix: parsed.fix ?? 'Set RELAY_DATA_DIR in compose.yaml and redeploy.' });
  if (result.code !== 0 || parsed === undefined) {
    throw new RelayError(`could not read usage on ${host.label}: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' ')}`, {
      fix: 'Is the relay running and deployed from this version? `relay status` shows it; `relay deploy` updates it.',
    });
  }
  return parsed as UsageReport;
}

export interface TokenListing {
  name: string;
  state: TokenState;
  created: string;
  expires: string | null;
  revoked: string | null;
  lastUsed: string | null;
  rpm: number | null;
  concurrency: number | null;
  /** During a rotation's grace period: when the old value stops working. */
  previousUntil: string | null;
}

/** What `relay token list` shows: never a token, never a hash. RELAY_TOKEN ("default") comes first. */
export function tokenListing(file: TokensFile, lastUsed: Record<string, string>, now: number): TokenListing[] {
  const inGrace = (until: string | undefined) => (until !== undefined && Date.parse(until) > now ? until : null);
  const first = (entry: { name: string }) => (entry.name === DEFAULT_TOKEN_NAME ? 0 : 1);
  return [...file.tokens].sort((a, b) => first(a) - first(b)).map((entry) => ({
    name: entry.name,
    state: tokenState(entry, now),
    created: entry.created,
    expires: entry.expires ?? null,
    revoked: entry.revoked ?? null,
    lastUsed: lastUsed[entry.name] ?? null,
    rpm: entry.rpm ?? null,
    concurrency: entry.concurrency ?? null,
    previousUntil: inGrace(entry.previous?.until),
  }));
}

/** `relay status`: RELAY_TOKEN's fingerprint, from the hash the host keeps as "default". */
export function defaultTokenFingerprint(file: TokensFile): string | undefined {
  const entry = file.tokens.find((other) => other.name === DEFAULT_TOKEN_NAME);
  return entry === undefined ? undefined : fingerprintFromSha256(entry.sha256);
}
