// One exchange (a request and its answer, or a Realtime session) from arrival to close, and the
// one place every exchange is finished: limiter slot, metrics, usage accounting, log line, dump.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from './access/access.js';
import type { Admitted } from './access/access-mode.js';
import type { Acquired } from './access/limiter.js';
import type { UsageTap } from './access/usage-tap.js';
import type { ExchangeDump } from './dump.js';
import type { Logger } from './log.js';

export type Outcome = 'ok' | 'client_closed' | 'upstream_error' | 'upstream_timeout';

/**
 * Set by whoever calls the upstream for this exchange; told once when the client connection
 * closes, answered or not. An object, not a closure stored on the exchange: measured here, a
 * per-request closure called from the server's one call site kept every request's objects alive
 * through V8's young-generation collections (~6 KB per request promoted, GC time doubled).
 */
export interface UpstreamCall {
  clientClosed(): void;
}

/** The client went away before its answer was complete: abort what the handler is waiting for. */
class AbortOnClientClose implements UpstreamCall {
  readonly controller = new AbortController();

  constructor(private readonly exchange: Exchange) {}

  clientClosed(): void {
    if (this.exchange.res.writableFinished) return;
    this.exchange.outcome = 'client_closed';
    this.controller.abort();
  }
}

/** For handlers that call the upstream with a signal (the API translations): aborted if the client leaves first. */
export function clientCloseSignal(exchange: Exchange): AbortSignal {
  const call = new AbortOnClientClose(exchange);
  exchange.upstreamCall = call;
  return call.controller.signal;
}

/** What is known about one exchange; routes fill it in as they answer, finishExchange reads it. */
export class Exchange {
  readonly startedAt = performance.now();
  /** The target as the client sent it (req.url is rewritten to the upstream's path). */
  readonly url: string;
  /** The target under the route's mount point: the path prefix, or the Ollama secret (set by the router). */
  target = '';
  /** The path as the log may show it: never the Ollama secret. */
  logPath = '';
  bytesIn = 0;
  bytesOut = 0;
  /** ms from the start to the first response byte handed to the client. */
  ttfbMs: number | undefined = undefined;
  requestId: string | undefined = undefined;
  outcome: Outcome = 'ok';
  /** Who the relay let in; undefined when refused, or on a route that needs no token. */
  admitted: Admitted | undefined = undefined;
  /** The limiter slot this exchange holds until it is finished. */
  held: Acquired | undefined = undefined;
  /** Watches the answer for token usage as it streams past (set once the upstream's headers arrive). */
  usage: UsageTap | undefined = undefined;
  upstreamCall: UpstreamCall | undefined = undefined;
  /** RELAY_DUMP's watch on this exchange, started before any route reads or answers (dump.ts). */
  dump: ExchangeDump | undefined = undefined;
  finished = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.url = req.url ?? '';
  }

  /** The client's own Authorization, sent upstream in passthrough mode; the server key when undefined. */
  get upstreamAuthorization(): string | undefined {
    return this.admitted?.upstreamAuthorization;
  }

  /** The status the client got; 499 when it went away before any. */
  get status(): number {
    return this.res.headersSent ? this.res.statusCode : 499;
  }
}

export type SessionOutcome = Outcome | 'refused';

/** A Realtime WebSocket session (realtime.ts): an upgraded socket, so no response to read its status from. */
export class RealtimeSession {
  readonly startedAt = performance.now();
  /** The status the client was answered: the relay's refusal or the upstream's handshake answer. */
  status: number | undefined = undefined;
  outcome: SessionOutcome | undefined = undefined;
  /** Where the client put its relay token. */
  auth: 'header' | 'subprotocol' | 'none' | undefined = undefined;
  bytesIn = 0;
  bytesOut = 0;
  upstreamCall: UpstreamCall | undefined = undefined;

  constructor(
    readonly req: IncomingMessage,
    /** The path as the log may show it: never the Ollama secret. */
    readonly logPath: string,
  ) {}
}

/** Where finished exchanges are written down. */
export interface Books {
  logger: Logger;
  access: Access;
}

/**
 * Called once per exchange, when its client connection closed (see server.ts): frees its limiter
 * slot, then metrics, usage, the log line and the dump. A Realtime session gets its own `realtime`
 * line and nothing else: it holds no slot, its frames are neither metered nor dumped, and its
 * minutes would skew the request metrics.
 */
export function finishExchange(exchange: Exchange | RealtimeSession, books: Books): void {
  const durationMs = performance.now() - exchange.startedAt;
  if (exchange instanceof RealtimeSession) {
    books.logger.info('realtime', {
      path: exchange.logPath.slice(0, 200),
      auth: exchange.auth,
      status: exchange.status,
      outcome: exchange.outcome ?? 'client_closed',
      duration_ms: round(durationMs),
      bytes_in: exchange.bytesIn,
      bytes_out: exchange.bytesOut,
    });
    return;
  }
  exchange.finished = true;
  exchange.held?.release();
  const { access, logger } = books;
  const { admitted, outcome, ttfbMs } = exchange;
  const status = exchange.status;
  access.metrics.recordRequest({ token: admitted?.name ?? 'unauthenticated', status, durationMs, ttfbMs });
  if (outcome === 'upstream_timeout') access.metrics.recordUpstreamError('timeout');
  else if (outcome === 'upstream_error') access.metrics.recordUpstreamError(exchange.usage ? 'interrupted' : 'unreachable');
  if (admitted && exchange.usage) access.account(admitted, exchange.usage.finish(), { bytesIn: exchange.bytesIn, failed: outcome !== 'ok' });
  logger.request({
    method: exchange.req.method,
    path: exchange.logPath,
    token: admitted?.name,
    status,
    outcome,
    durationMs: round(durationMs),
    ttfbMs: ttfbMs === undefined ? undefined : round(ttfbMs),
    bytesIn: exchange.bytesIn,
    bytesOut: exchange.bytesOut,
    requestId: exchange.requestId,
  });
  exchange.dump?.finish({ status, token: admitted?.name, outcome, durationMs: round(durationMs) });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
