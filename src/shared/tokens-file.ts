// The tokens file (RELAY_TOKENS_FILE, /opt/relay/tokens.json on the host): the one registry of
// client tokens, RELAY_TOKEN as its "default" entry and named tokens beside it, each stored only as
// the SHA-256 of the token, with its limits and lifetime. The relay reads it; `relay deploy`,
// `relay rotate-token` and `relay token ...` rewrite it with the pure edits below. Shared: one format, read by the relay, written by the CLI.
import { createHash } from 'node:crypto';
import { ConfigError } from './errors.js';

export interface TokenLimits {
  /** Requests per minute (a bucket of `rpm` that refills evenly over a minute). */
  rpm?: number;
  /** Requests (and streams) in flight at once. */
  concurrency?: number;
}

export interface TokenEntry extends TokenLimits {
  name: string;
  /** Hex SHA-256 of the token; the token itself is never stored. */
  sha256: string;
  /** ISO times. */
  created: string;
  expires?: string;
  revoked?: string;
  /** The hash being rotated out, still accepted until `until` (`relay token rotate --grace`). */
  previous?: { sha256: string; until: string };
}

export interface TokensFile {
  version: 1;
  tokens: TokenEntry[];
}

/** RELAY_TOKEN's entry in the registry, metrics and usage; made by `relay deploy`, not `relay token add`. */
export const DEFAULT_TOKEN_NAME = 'default';
/** Metrics label, limiter scope and log name for requests in RELAY_MODE=passthrough. */
export const PASSTHROUGH_NAME = 'passthrough';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function emptyTokensFile(): TokensFile {
  return { version: 1, tokens: [] };
}

export function validateTokenName(name: string): string {
  if (!NAME.test(name)) {
    throw new ConfigError(`"${name}" is not a token name: use 1-64 lower-case letters, digits and . _ - (starting with a letter or digit).`);
  }
  if (name === DEFAULT_TOKEN_NAME || name === PASSTHROUGH_NAME) {
    throw new ConfigError(`"${name}" is reserved (it names ${name === DEFAULT_TOKEN_NAME ? 'RELAY_TOKEN' : 'passthrough traffic'}).`, { fix: 'Pick another name.' });
  }
  return name;
}

function positiveInt(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ConfigError(`${what} must be a whole number of at least 1; got ${JSON.stringify(value)}`);
  return value;
}

function isoTime(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) throw new ConfigError(`${what} must be an ISO time; got ${JSON.stringify(value)}`);
  return value;
}

/** Parses and validates the file's text; errors name the entry, never a hash. */
export function parseTokensFile(text: string, source = 'the tokens file'): TokensFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${source} is not JSON.`, { fix: 'Rewrite it with `relay token add` or restore it from a backup.' });
  }
  const raw = json as { version?: unknown; tokens?: unknown };
  if (raw?.version !== 1 || !Array.isArray(raw.tokens)) throw new ConfigError(`${source} is not a version 1 tokens file.`);
  const names = new Set<string>();
  const tokens = raw.tokens.map((item: Record<string, unknown>, index): TokenEntry => {
    const name = typeof item?.name === 'string' ? item.name : '';
    const what = `${source}, token ${name || `#${index + 1}`}`;
    if (!NAME.test(name)) throw new ConfigError(`${what}: the name is missing or invalid.`);
    if (names.has(name)) throw new ConfigError(`${what}: the name appears twice.`);
    names.add(name);
    if (typeof item.sha256 !== 'string' || !HEX64.test(item.sha256)) throw new ConfigError(`${what}: sha256 must be 64 lower-case hex digits.`);
    const entry: TokenEntry = { name, sha256: item.sha256, created: isoTime(item.created, `${what}: created`) ?? new Date(0).toISOString() };
    const expires = isoTime(item.expires, `${what}: expires`);
    if (expires) entry.expires = expires;
    const revoked = isoTime(item.revoked, `${what}: revoked`);
    if (revoked) entry.revoked = revoked;
    const rpm = positiveInt(item.rpm, `${what}: rpm`);
    if (rpm) entry.rpm = rpm;
    const concurrency = positiveInt(item.concurrency, `${what}: concurrency`);
    if (concurrency) entry.concurrency = concurrency;
    const previous = item.previous as { sha256?: unknown; until?: unknown } | undefined;
    if (previous) {
      const until = isoTime(previous.until, `${what}: previous.until`);
      if (typeof previous.sha256 !== 'string' || !HEX64.test(previous.sha256) || !until) throw new ConfigError(`${what}: previous needs sha256 and until.`);
      entry.previous = { sha256: previous.sha256, until };
    }
    return entry;
  });
  return { version: 1, tokens };
}

/** Stable, readable text: one token per line block, a trailing newline. */
export function renderTokensFile(file: TokensFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

export interface NewToken extends TokenLimits {
  name: string;
  sha256: string;
  /** How long the token is valid; undefined: until revoked. */
  expiresInMs?: number;
}

export function addToken(file: TokensFile, token: NewToken, now: number): TokensFile {
  validateTokenName(token.name);
  const existing = file.tokens.find((entry) => entry.name === token.name);
  if (existing && !existing.revoked) {
    throw new ConfigError(`A token named "${token.name}" exists already.`, { fix: `Revoke it first (\`relay token revoke ${token.name}\`), rotate it (\`relay token rotate ${token.name}\`), or pick another name.` });
  }
  const entry: TokenEntry = { name: token.name, sha256: token.sha256, created: new Date(now).toISOString() };
  if (token.expiresInMs !== undefined) entry.expires = new Date(now + token.expiresInMs).toISOString();
  if (token.rpm !== undefined) entry.rpm = positiveInt(token.rpm, '--rpm')!;
  if (token.concurrency !== undefined) entry.concurrency = positiveInt(token.concurrency, '--concurrency')!;
  // A revoked token's name may be reused: the new entry replaces it.
  return { version: 1, tokens: [...file.tokens.filter((other) => other.name !== token.name), entry] };
}

function named(file: TokensFile, name: string): TokenEntry {
  const entry = file.tokens.find((other) => other.name === name);
  if (!entry) throw new ConfigError(`There is no token named "${name}".`, { fix: '`relay token list` shows the names.' });
  return entry;
}

/**
 * The registry with RELAY_TOKEN's hash as "default" (created `now`), and a rotation's previous hash
 * when one is still in its grace; a registry that has a "default" already is returned as it is.
 */
export function withDefaultToken(file: TokensFile, sha256: string, now: number, previous?: { sha256: string; until: string }): TokensFile {
  if (file.tokens.some((entry) => entry.name === DEFAULT_TOKEN_NAME)) return file;
  const entry: TokenEntry = { name: DEFAULT_TOKEN_NAME, sha256, created: new Date(now).toISOString() };
  if (previous !== undefined) entry.previous = previous;
  return { version: 1, tokens: [...file.tokens, entry] };
}

/** Marks the token revoked (kept in the file so `token list` can still show it). */
export function revokeToken(file: TokensFile, name: string, now: number): TokensFile {
  const entry = named(file, name);
  if (entry.revoked) return file;
  const { previous: _previous, ...rest } = entry;
  return { version: 1, tokens: file.tokens.map((other) => (other === entry ? { ...rest, revoked: new Date(now).toISOString() } : other)) };
}

/** A new hash for the token; with a grace period the old one keeps working until it ends. */
export function rotateToken(file: TokensFile, name: string, sha256: string, graceMs: number, now: number): TokensFile {
  const entry = named(file, name);
  if (entry.revoked) throw new ConfigError(`The token "${name}" is revoked.`, { fix: `Add a new one: \`relay token add ${name}\`.` });
  const { previous: _previous, ...rest } = entry;
  const next: TokenEntry = { ...rest, sha256 };
  if (graceMs > 0) next.previous = { sha256: entry.sha256, until: new Date(now + graceMs).toISOString() };
  return { version: 1, tokens: file.tokens.map((other) => (other === entry ? next : other)) };
}

export type TokenState = 'active' | 'expired' | 'revoked';

export function tokenState(entry: TokenEntry, now: number): TokenState {
  if (entry.revoked) return 'revoked';
  if (entry.expires !== undefined && Date.parse(entry.expires) <= now) return 'expired';
  return 'active';
}
