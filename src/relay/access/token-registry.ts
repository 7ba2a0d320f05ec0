// Who is calling: the bearer token's SHA-256 looked up in the tokens file, the one registry
// (RELAY_TOKEN is its "default" entry). Swapped whole on reload, so a request sees one set or the other.
import { readFile } from 'node:fs/promises';
import { bearerToken } from '../auth.js';
import type { Logger } from '../log.js';
import { watchFile } from '../watch-file.js';
import { DEFAULT_TOKEN_NAME, emptyTokensFile, parseTokensFile, sha256Hex, type TokenLimits, type TokensFile } from '../../shared/tokens-file.js';

export interface Identity {
  name: string;
  limits: TokenLimits;
}

export interface TokenRegistry {
  /** The caller behind an Authorization header, or undefined: unknown, expired or revoked. */
  identify(authorization: string | undefined): Identity | undefined;
  /** No RELAY_TOKEN and no tokens file: anyone is let in (as "default"). */
  isOpen(): boolean;
  /** The tokens file's content; undefined: no tokens file configured. */
  setFile(file: TokensFile | undefined): void;
  /** Names of the tokens accepted now (for logs; never a hash). */
  activeNames(): string[];
  /** True when `text` holds a relay token: the environment's RELAY_TOKEN anywhere, a registered token as a word. */
  carriesToken(text: string): boolean;
  /** RELAY_TOKEN from the environment, the only token known by value (the tokens file holds hashes). */
  plainTokens(): readonly string[];
}

interface Accepted {
  identity: Identity;
  /** epoch ms; Infinity for no end. */
  until: number;
}

/** Registered tokens are 64 hex digits (`relay deploy`, `relay token add`: generateRelayToken). */
const NAMED_TOKEN_LENGTH = 64;
const HEX_RUN = /[0-9a-fA-F]{64,}/g;

const DEFAULT: Identity = { name: DEFAULT_TOKEN_NAME, limits: {} };

export interface RegistryOptions {
  /**
   * RELAY_TOKEN from the environment: "default" only while the file has no "default" entry (a host
   * not yet migrated by `relay deploy`, or `relay serve` with no tokens file). The file's entry,
   * even revoked, wins: a value left in a container's env cannot outlive a rotation.
   */
  envToken?: string;
  file?: TokensFile;
  now?: () => number;
}

export function createTokenRegistry(options: RegistryOptions = {}): TokenRegistry {
  const now = options.now ?? Date.now;
  const envToken = options.envToken;
  let file = options.file;
  // A plain Map on the hex digest: the lookup's timing depends on the SHA-256 of what the client
  // sent, which tells an attacker nothing about any stored token.
  let byHash = new Map<string, Accepted>();
  // The environment's RELAY_TOKEN is the only token whose value the relay holds.
  const plain = envToken === undefined || envToken === '' ? [] : [envToken];

  const rebuild = () => {
    const next = new Map<string, Accepted>();
    for (const entry of file?.tokens ?? []) {
      if (entry.revoked) continue;
      const identity: Identity = { name: entry.name, limits: { rpm: entry.rpm, concurrency: entry.concurrency } };
      const until = entry.expires === undefined ? Infinity : Date.parse(entry.expires);
      next.set(entry.sha256, { identity, until });
      if (entry.previous) next.set(entry.previous.sha256, { identity, until: Math.min(until, Date.parse(entry.previous.until)) });
    }
    // Last: it wins should a named token share its value.
    const fileHasDefault = file?.tokens.some((entry) => entry.name === DEFAULT_TOKEN_NAME) ?? false;
    if (envToken !== undefined && !fileHasDefault) next.set(sha256Hex(envToken), { identity: DEFAULT, until: Infinity });
    byHash = next;
  };
  rebuild();

  const isOpen = () => envToken === undefined && file === undefined;
  return {
    isOpen,
    identify(authorization) {
      if (isOpen()) return DEFAULT;
      const presented = bearerToken(authorization);
      const accepted = presented === undefined ? undefined : byHash.get(sha256Hex(presented));
      return accepted !== undefined && now() < accepted.until ? accepted.identity : undefined;
    },
    setFile(next) {
      file = next;
      rebuild();
    },
    carriesToken(text) {
      for (const token of plain) if (text.includes(token)) return true;
      if (!file?.tokens.length || text.length < NAMED_TOKEN_LENGTH) return false;
      // Registered tokens are only known by their hash: each 64-hex-digit word is hashed and looked up.
      for (const [run] of text.matchAll(HEX_RUN)) {
        // A longer run could hold a token anywhere inside; not worth a hash per offset.
        if (run.length > NAMED_TOKEN_LENGTH || byHash.has(sha256Hex(run))) return true;
      }
      return false;
    },
    plainTokens: () => plain,
    activeNames() {
      const at = now();
      return [...new Set([...byHash.values()].filter((accepted) => at < accepted.until).map((accepted) => accepted.identity.name))];
    },
  };
}

/** Reads the tokens file; a missing file is an empty one (no named tokens yet). */
async function readTokensFile(path: string): Promise<TokensFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyTokensFile();
    throw error;
  }
  return parseTokensFile(text, path);
}

export interface TokensFileFollower {
  /** Re-reads the file now (call it on SIGHUP). Resolves once the registry has the result. */
  reload(): Promise<void>;
  close(): void;
}

/**
 * Loads RELAY_TOKENS_FILE into the registry (throws at start if it is invalid), then re-reads it
 * when it changes; a later unreadable or invalid file keeps the tokens in use and says why.
 */
export async function followTokensFile(path: string, registry: TokenRegistry, logger: Logger): Promise<TokensFileFollower> {
  registry.setFile(await readTokensFile(path));
  const reload = async () => {
    try {
      registry.setFile(await readTokensFile(path));
      logger.info('tokens file reloaded', { file: path, active: registry.activeNames().length });
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      logger.warn('could not re-read the tokens file: keeping the tokens in use', { file: path, error: reason });
    }
  };
  const watcher = watchFile(path, () => void reload());
  return { reload, close: () => watcher.close() };
}
