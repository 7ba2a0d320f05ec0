// CORS for browser apps. Off unless RELAY_CORS_ORIGINS names origins (or *): the relay, not the
// upstream, decides which pages may read its answers. Preflights carry no token by design.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ConfigError } from '../shared/errors.js';
import { CREDENTIALS } from './headers.js';
import { sendError } from './openai-error.js';

export interface CorsPolicy {
  anyOrigin: boolean;
  origins: ReadonlySet<string>;
}

// What the openai SDK sends besides the CORS-safelisted headers, allowed even when a preflight does not ask.
const ALWAYS_ALLOWED = ['authorization', 'content-type', 'accept', 'idempotency-key', 'openai-organization', 'openai-project', 'openai-beta'];
// Any other header an allowed page asks for is allowed (Firefox lets fetch send user-agent), but none
// that carries a credential other than the relay token (authorization, or x-api-key from Anthropic clients).
const RELAY_TOKEN_HEADERS = new Set(['authorization', 'x-api-key']);
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

const EXPOSED = [
  'x-request-id',
  'openai-processing-ms',
  'openai-version',
  'openai-organization',
  'openai-project',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'retry-after',
  'retry-after-ms',
].join(', ');

/** Browsers cache a preflight for at most 2 h (Chromium), 24 h (Firefox). */
const MAX_AGE_S = '7200';

export function parseCorsOrigins(text: string | undefined): CorsPolicy | undefined {
  const entries = (text ?? '')
    .split(',')
    .map((entry) => entry.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  if (entries.includes('*')) return { anyOrigin: true, origins: new Set() };
  const origins = new Set<string>();
  for (const entry of entries) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    // An Origin header is exactly scheme://host[:port]; anything else would never match.
    if (!url || url.origin !== entry) {
      throw new ConfigError(`RELAY_CORS_ORIGINS: "${entry}" is not an origin.`, {
        fix: 'List origins as scheme://host[:port], comma-separated, e.g. https://app.example.com,http://localhost:5173 (or * for any).',
      });
    }
    origins.add(url.origin);
  }
  return { anyOrigin: false, origins };
}

export function isAllowedOrigin(policy: CorsPolicy, origin: string): boolean {
  return policy.anyOrigin || policy.origins.has(origin);
}

export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/** Headers for an actual (non-preflight) response to an allowed origin. */
export function corsResponseHeaders(policy: CorsPolicy, origin: string): OutgoingHttpHeaders {
  return {
    'access-control-allow-origin': policy.anyOrigin ? '*' : origin,
    'access-control-expose-headers': EXPOSED,
    ...(policy.anyOrigin ? {} : { vary: 'Origin' }),
  };
}

export function preflightHeaders(policy: CorsPolicy, origin: string, requestedHeaders: string | undefined): OutgoingHttpHeaders {
  const allowed = new Set(ALWAYS_ALLOWED);
  for (const name of (requestedHeaders ?? '').split(',')) {
    const header = name.trim().toLowerCase();
    if (FIELD_NAME.test(header) && (RELAY_TOKEN_HEADERS.has(header) || !CREDENTIALS.has(header))) allowed.add(header);
  }
  return {
    'access-control-allow-origin': policy.anyOrigin ? '*' : origin,
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers': [...allowed].join(', '),
    'access-control-max-age': MAX_AGE_S,
    vary: 'Origin, Access-Control-Request-Headers',
  };
}

/** A preflight is answered here, never forwarded (browsers send it without credentials); other answers to an allowed origin get its headers. */
export function answeredCors(cors: CorsPolicy, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  const allowed = origin !== undefined && isAllowedOrigin(cors, origin);
  if (isPreflight(req)) {
    if (allowed) {
      res.writeHead(204, preflightHeaders(cors, origin, req.headers['access-control-request-headers'] as string | undefined));
      res.end();
    } else {
      sendError(res, 403, 'This origin is not allowed to call the relay (see RELAY_CORS_ORIGINS).', 'invalid_request_error', 'origin_not_allowed');
    }
    return true;
  }
  if (allowed) for (const [name, value] of Object.entries(corsResponseHeaders(cors, origin))) res.setHeader(name, value!);
  return false;
}
