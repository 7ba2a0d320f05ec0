// Bearer tokens: reading one out of an Authorization header. The check itself is the token
// registry's (access/token-registry.ts), which looks tokens up by their SHA-256, so timing says
// nothing about the token.

export interface Authenticator {
  check(authorization: string | undefined): boolean;
}

export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')?.[1];
}
