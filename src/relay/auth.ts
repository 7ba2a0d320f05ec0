// Bearer tokens: reading one out of an Authorization header, and the shapes the relay's token
// sources share. The check itself is the token registry's (access/token-registry.ts), which looks
// tokens up by their SHA-256, so timing says nothing about the token.

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

export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}
