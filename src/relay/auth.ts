// Bearer-token check. Both sides are hashed first so the comparison is constant-time whatever
// the length of what the client sent.
import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenCheck = (authorization: string | undefined) => boolean;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}

/** With no token configured every request passes (the relay warns about that at start-up). */
export function tokenCheck(relayToken: string | undefined): TokenCheck {
  if (relayToken === undefined) return () => true;
  const expected = digest(relayToken);
  return (authorization) => {
    const presented = bearerToken(authorization);
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}
