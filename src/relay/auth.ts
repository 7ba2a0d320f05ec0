// Bearer-token check. Tokens are kept as SHA-256 digests and compared with timingSafeEqual, so
// the check is constant-time whatever the length of what the client sent.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The tokens the relay accepts right now. */
export interface TokenSet {
  /** undefined means the relay is open: anyone who reaches it spends the key. */
  current: string | undefined;
  /** The token being rotated out, accepted until `until` (epoch ms) during a grace period. */
  previous?: { token: string; until: number };
}

export interface Authenticator {
  check(authorization: string | undefined): boolean;
  /** Swaps the accepted tokens at once: the next request is checked against the new set. */
  update(tokens: TokenSet): void;
  isOpen(): boolean;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}

export function createAuthenticator(initial: TokenSet, now: () => number = Date.now): Authenticator {
  let current: Buffer | undefined;
  let previous: { digest: Buffer; until: number } | undefined;
  const update = (tokens: TokenSet) => {
    current = tokens.current === undefined ? undefined : digest(tokens.current);
    previous = tokens.previous && { digest: digest(tokens.previous.token), until: tokens.previous.until };
  };
  update(initial);
  return {
    update,
    isOpen: () => current === undefined,
    check(authorization) {
      if (current === undefined) return true;
      const presented = bearerToken(authorization);
      if (presented === undefined) return false;
      const candidate = digest(presented);
      if (timingSafeEqual(candidate, current)) return true;
      return previous !== undefined && now() < previous.until && timingSafeEqual(candidate, previous.digest);
    },
  };
}
