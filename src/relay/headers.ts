// Which headers cross the relay. Hop-by-hop headers describe one connection and must not be
// forwarded (RFC 9110 §7.6.1); the client's relay token is replaced by the server key.
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
const NOT_FORWARDED_UPSTREAM = new Set(['host', 'authorization', 'expect', 'forwarded', 'x-real-ip']);

function connectionListed(headers: IncomingHttpHeaders): Set<string> | undefined {
  const connection = headers.connection;
  // The usual values name no header: nothing more to leave out.
  if (!connection || connection === 'keep-alive' || connection === 'close') return undefined;
  const listed = new Set<string>();
  for (const name of String(connection).split(',')) listed.add(name.trim().toLowerCase());
  return listed;
}

/** `authorization`: what goes upstream; the server key unless the client's own (passthrough mode). */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, apiKey: string, authorization = `Bearer ${apiKey}`): Record<string, string | string[]> {
  const listed = connectionListed(headers);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED_UPSTREAM.has(name) || name.startsWith('x-forwarded-') || listed?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  out.authorization = authorization;
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
    if (HOP_BY_HOP.has(name) || listed?.has(name) || name.startsWith('access-control-')) continue;
    out[name] = headers[name];
  }
  if (isEventStream(headers['content-type'])) {
    // Tell nginx (and other proxies that honour it) not to buffer the stream.
    out['x-accel-buffering'] = 'no';
    out['cache-control'] ??= 'no-cache';
  }
  return out;
}
