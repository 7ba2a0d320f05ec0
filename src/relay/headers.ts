// Which headers cross the relay. Hop-by-hop headers describe one connection and must not be
// forwarded (RFC 9110 §7.6.1); the client's credentials are replaced by the server key.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

// Not forwarded upstream: the relay sets host and authorization itself; undici refuses `expect`
// (Node already answered 100-continue); client addresses stay private from the upstream.
const NOT_FORWARDED_UPSTREAM = new Set(['host', 'expect', 'forwarded', 'x-real-ip']);

// Headers that carry a client's credentials, for the relay or for another service (Azure- and
// Anthropic-style keys, the browser's cookies for a domain the relay shares): never sent on.
export const CREDENTIALS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'api-key',
  'x-api-key',
  'x-goog-api-key',
  'ocp-apim-subscription-key',
  'x-auth-token',
  'x-access-token',
  'cookie',
  'cookie2',
]);

// Which OpenAI organization and project the key bills: the key's owner decides, not a client of the relay.
const ACCOUNT = new Set(['openai-organization', 'openai-project']);

// Never passed to clients: the upstream's cookies are for its own domain, not the relay's.
const NOT_FORWARDED_DOWNSTREAM = new Set(['set-cookie', 'set-cookie2']);

/** What the relay sends upstream in its clients' place, and how it recognises their tokens. */
export interface UpstreamCredentials {
  apiKey: string;
  /** RELAY_OPENAI_ORGANIZATION / RELAY_OPENAI_PROJECT, sent with the server key. */
  organization?: string;
  project?: string;
  /** True when a header value holds a relay token: such a header is not forwarded. */
  carriesToken(value: string): boolean;
}

/** The organization and project headers that go with the server key. */
export function accountHeaders(credentials: UpstreamCredentials): Record<string, string> {
  const out: Record<string, string> = {};
  if (credentials.organization !== undefined) out['openai-organization'] = credentials.organization;
  if (credentials.project !== undefined) out['openai-project'] = credentials.project;
  return out;
}

/** The headers the Connection header names: they describe this connection only. */
function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  return new Set(
    String(headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((name) => name.trim()),
  );
}

/**
 * `clientAuthorization`: the client's own key (passthrough mode), which goes upstream with the
 * client's organization and project headers; without it the server key goes with the server's.
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  credentials: UpstreamCredentials,
  clientAuthorization?: string,
): Record<string, string | string[]> {
  const listed = connectionListed(headers);
  const serverKey = clientAuthorization === undefined;
  const out: Record<string, string | string[]> = serverKey ? accountHeaders(credentials) : {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED_UPSTREAM.has(name) || CREDENTIALS.has(name) || name.startsWith('x-forwarded-') || listed.has(name)) continue;
    if (serverKey && ACCOUNT.has(name)) continue;
    const value = headers[name];
    if (value === undefined || credentials.carriesToken(Array.isArray(value) ? value.join('\n') : value)) continue;
    out[name] = value;
  }
  out.authorization = clientAuthorization ?? `Bearer ${credentials.apiKey}`;
  return out;
}

export function isEventStream(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.toLowerCase().startsWith('text/event-stream');
}

export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    // The relay's own CORS policy (RELAY_CORS_ORIGINS) decides which pages may read an answer, not the upstream's.
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED_DOWNSTREAM.has(name) || listed.has(name) || name.startsWith('access-control-')) continue;
    out[name] = headers[name];
  }
  if (isEventStream(headers['content-type'])) {
    // Tell nginx (and other proxies that honour it) not to buffer the stream.
    out['x-accel-buffering'] = 'no';
    out['cache-control'] ??= 'no-cache';
  }
  return out;
}
