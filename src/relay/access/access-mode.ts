// Who a request counts as, what Authorization goes upstream, and which limit applies, in either
// mode: "relay" (clients send a relay token; the server's key goes upstream) or "passthrough"
// (RELAY_MODE=passthrough: clients send their own OpenAI key, forwarded untouched; nothing is
// stored; limits apply per client address; the key is never logged nor used as a label).
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { bearerToken } from '../auth.js';
import type { TokenRegistry } from './token-registry.js';
import { PASSTHROUGH_NAME, type TokenLimits } from '../../shared/tokens-file.js';

export type RelayMode = 'relay' | 'passthrough';

export interface Admitted {
  ok: true;
  /** Token name for logs, metrics and usage: a name from the tokens file, "default", or "passthrough". */
  name: string;
  /** The client's own Authorization, sent upstream in passthrough mode; undefined: the server key goes. */
  upstreamAuthorization: string | undefined;
  /** Limiter key: `token:<name>` or `ip:<client address>`. */
  limiterKey: string;
  limits: TokenLimits;
  /** What a 429 message calls the caller. */
  who: string;
  /** Usage goes to the store only for relay tokens: passthrough stores nothing. */
  storeUsage: boolean;
}

export interface Rejected {
  ok: false;
  status: 401;
  message: string;
}

export interface AccessContext {
  mode: RelayMode;
  registry: TokenRegistry;
  /** Per-address limits in passthrough mode (RELAY_PASSTHROUGH_RPM / _CONCURRENCY). */
  passthroughLimits: TokenLimits;
}

export interface AccessRequest {
  headers: IncomingHttpHeaders;
  /** req.socket.remoteAddress */
  remoteAddress: string | undefined;
}

export function decideAccess(request: AccessRequest, context: AccessContext): Admitted | Rejected {
  const authorization = request.headers.authorization;
  if (context.mode === 'passthrough') {
    if (bearerToken(authorization) === undefined) {
      return { ok: false, status: 401, message: 'This relay forwards your own OpenAI key: send "Authorization: Bearer sk-...".' };
    }
    const limiterKey = `ip:${clientAddress(request.remoteAddress, request.headers)}`;
    const limits = context.passthroughLimits;
    return { ok: true, name: PASSTHROUGH_NAME, upstreamAuthorization: authorization!, limiterKey, limits, who: 'this address', storeUsage: false };
  }
  const identity = context.registry.identify(authorization);
  if (identity === undefined) {
    return { ok: false, status: 401, message: 'Missing or invalid relay token: send "Authorization: Bearer <RELAY_TOKEN>".' };
  }
  const { name, limits } = identity;
  return { ok: true, name, upstreamAuthorization: undefined, limiterKey: `token:${name}`, limits, who: `token ${name}`, storeUsage: true };
}

const PRIVATE_PEER = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|f[cd][0-9a-f]{2}:)/i;

/**
 * The client's address. Behind nginx the peer is nginx (loopback, or Docker's bridge), which sets
 * X-Real-IP to the real client; that header is believed only from such a private peer.
 */
export function clientAddress(remoteAddress: string | undefined, headers: IncomingHttpHeaders): string {
  const peer = (remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
  const realIp = headers['x-real-ip'];
  if (typeof realIp === 'string' && PRIVATE_PEER.test(peer)) {
    const claimed = realIp.trim().replace(/^::ffff:/, '');
    if (isIP(claimed) !== 0) return claimed;
  }
  return peer;
}
