// The relay's way out to its one upstream: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case, the
// lower-case one first, as undici and curl read them). Decided once at start-up for the upstream's
// origin, so HTTP calls (undici's ProxyAgent) and the Realtime tunnel always agree.
import { DecoratorHandler, Pool, type Dispatcher } from 'undici';
import { formatDuration } from '../shared/duration.js';
import { ProxyTunnelTimeout } from './errors.js';
import { parseProxyUrl } from '../shared/upstream-url.js';

export interface OutboundProxy {
  /** The proxy URL, credentials included: for the connection only, never shown. */
  url: URL;
  /** scheme://host:port without credentials: what logs and error answers name. */
  label: string;
  /** `Proxy-Authorization` for the URL's user:password, if it has one. */
  authorization: string | undefined;
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return (env[name.toLowerCase()] ?? env[name])?.trim() || undefined;
}

/** Whether NO_PROXY lists the host (itself or a parent domain, `*` for all; an entry's :port must match). */
export function bypassesProxy(noProxy: string, hostname: string, port: number): boolean {
  const host = hostname.replace(/^\[(.+)\]$/, '$1').toLowerCase();
  for (const entry of noProxy.split(/[,\s]+/)) {
    if (!entry) continue;
    // host, host:port, .domain, *.domain, [v6]:port or a bare IPv6 address.
    const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(entry) ?? /^([^:]+):(\d+)$/.exec(entry);
    const name = (bracketed?.[1] ?? entry).replace(/^\*?\./, '').toLowerCase();
    if (bracketed?.[2] !== undefined && Number(bracketed[2]) !== port) continue;
    if (name === '*' || host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy the relay goes through to reach `upstreamOrigin`, or undefined for a direct connection. */
export function outboundProxyFor(upstreamOrigin: string, env: NodeJS.ProcessEnv): OutboundProxy | undefined {
  const target = new URL(upstreamOrigin);
  const secure = target.protocol === 'https:';
  // As undici's EnvHttpProxyAgent: an HTTPS upstream falls back to HTTP_PROXY.
  const name = secure && envValue(env, 'HTTPS_PROXY') !== undefined ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const value = envValue(env, name);
  if (value === undefined) return undefined;
  const port = Number(target.port) || (secure ? 443 : 80);
  if (bypassesProxy(envValue(env, 'NO_PROXY') ?? '', target.hostname, port)) return undefined;
  const url = parseProxyUrl(name, value);
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  return { url, label: `${url.protocol}//${url.host}`, authorization };
}

// undici says a refused tunnel only in its message: "Proxy response (403) !== 200 when HTTP Tunneling".
const TUNNEL_REFUSED = /Proxy response \((\d{3})\)/;
// Only the proxy's own socket is opened by the relay, so these are about the proxy.
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_PRX_TLS', 'UND_ERR_PRX_CONN']);

/** The proxy client's headers timeout can only be a CONNECT left unanswered: say so. */
class TunnelTimeoutHandler extends DecoratorHandler {
  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly timeoutMs: number,
  ) {
    super(handler);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    const timedOut = (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
    // DecoratorHandler's types leave out the methods it forwards.
    (DecoratorHandler.prototype as Dispatcher.DispatchHandler).onResponseError!.call(
      this,
      controller,
      timedOut ? new ProxyTunnelTimeout(this.timeoutMs) : error,
    );
  }
}

/**
 * The client that talks to the proxy itself, for CONNECT only (undici's ProxyAgent `clientFactory`,
 * and the Realtime tunnel). The proxy must answer within `timeoutMs` (RELAY_CONNECT_TIMEOUT), where
 * undici would wait its 300 s default headers timeout on a proxy that accepts and never answers.
 */
export function proxyTunnelClient(origin: string | URL, timeoutMs: number, options: Pool.Options = {}): Dispatcher {
  return new Pool(origin, { ...options, headersTimeout: timeoutMs }).compose(
    (dispatch) => (opts, handler) => dispatch(opts, new TunnelTimeoutHandler(handler, timeoutMs)),
  );
}

/**
 * What to tell the client when a call through the proxy failed because of the proxy: it refused
 * the tunnel, could not be reached, or left the CONNECT unanswered. Undefined for other failures
 * (the upstream's timeouts, bad requests).
 */
export function describeProxyFailure(proxy: OutboundProxy, error: Error): { message: string; code: string } | undefined {
  // undici reports some of them as the cause of its own error.
  const errors = [error, (error as { cause?: unknown }).cause] as Array<{ message?: unknown; code?: unknown } | undefined>;
  const timeout = errors.find((one) => one instanceof ProxyTunnelTimeout);
  if (timeout instanceof ProxyTunnelTimeout) {
    return {
      message: `The relay's outbound proxy ${proxy.label} did not answer its CONNECT within ${formatDuration(timeout.timeoutMs)}.`,
      code: 'proxy_timeout',
    };
  }
  const refused = errors.map((one) => TUNNEL_REFUSED.exec(String(one?.message))?.[1]).find((status) => status !== undefined);
  if (refused !== undefined) {
    return { message: `The relay's outbound proxy ${proxy.label} refused the connection to the upstream API (it answered ${refused}).`, code: 'proxy_refused' };
  }
  if (errors.some((one) => CONNECT_FAILURES.has(String(one?.code)))) {
    return { message: `The relay could not reach its outbound proxy ${proxy.label}.`, code: 'proxy_unreachable' };
  }
  return undefined;
}

