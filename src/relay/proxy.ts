// Forwards one request to the upstream and streams the answer back, both ways with
// backpressure. A client that goes away aborts the upstream request at once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, type Dispatcher } from 'undici';
import type { Timeouts, Upstream } from './config.js';
import { clientResponseHeaders, isEventStream, upstreamRequestHeaders } from './headers.js';
import { sendError } from './openai-error.js';

/** What the request log line reports about one exchange. */
export interface Exchange {
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** ms from request start to the first response byte handed to the client. */
  ttfbMs: number | undefined;
  requestId: string | undefined;
  outcome: 'ok' | 'client_closed' | 'upstream_error' | 'upstream_timeout';
}

export interface Forwarder {
  forward(req: IncomingMessage, res: ServerResponse, exchange: Exchange, startedAt: number): Promise<void>;
  close(): Promise<void>;
}

export function createUpstreamAgent(timeouts: Timeouts): Agent {
  return new Agent({
    connect: { timeout: timeouts.connectMs },
    // undici defaults both to 300 s; long reasoning answers and quiet streams need more.
    headersTimeout: timeouts.firstByteMs,
    bodyTimeout: timeouts.idleMs,
    keepAliveTimeout: 30_000,
  });
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function* counted(source: IncomingMessage, exchange: Exchange): AsyncGenerator<Buffer> {
  for await (const chunk of source as AsyncIterable<Buffer>) {
    exchange.bytesIn += chunk.length;
    yield chunk;
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT']);

function errorCode(error: unknown): string | undefined {
  const { code, cause } = error as { code?: string; cause?: { code?: string } };
  return code ?? cause?.code;
}

export function createForwarder(upstream: Upstream, apiKey: string, dispatcher: Dispatcher): Forwarder {
  return {
    async forward(req, res, exchange, startedAt) {
      const abort = new AbortController();
      // Who ended the exchange early decides what the log says: the client hanging up, or the upstream failing.
      let clientGone = false;
      let upstreamFailed = false;
      res.once('close', () => {
        if (res.writableFinished || upstreamFailed) return;
        clientGone = true;
        exchange.outcome = 'client_closed';
        abort.abort();
      });

      let answer: Dispatcher.ResponseData;
      try {
        answer = await dispatcher.request({
          origin: upstream.origin,
          path: upstream.basePath + req.url,
          method: req.method as Dispatcher.HttpMethod,
          headers: upstreamRequestHeaders(req.headers, apiKey),
          // undici streams any async iterable with backpressure; its types list only Readable.
          body: hasBody(req) ? (counted(req, exchange) as unknown as Readable) : null,
          signal: abort.signal,
        });
      } catch (error) {
        if (clientGone) return;
        const code = errorCode(error);
        if (code !== undefined && TIMEOUT_CODES.has(code)) {
          exchange.outcome = 'upstream_timeout';
          sendError(res, 504, 'The upstream API did not answer in time.', 'relay_error', 'upstream_timeout');
        } else if (code === 'UND_ERR_INVALID_ARG') {
          sendError(res, 400, 'The request cannot be forwarded as sent.', 'invalid_request_error', 'bad_request');
        } else {
          exchange.outcome = 'upstream_error';
          sendError(res, 502, 'The relay could not reach the upstream API.', 'relay_error', 'upstream_unreachable');
        }
        return;
      }

      exchange.requestId = answer.headers['x-request-id'] as string | undefined;
      res.writeHead(answer.statusCode, clientResponseHeaders(answer.headers));
      // SSE clients should see the headers now, not with the first event.
      if (isEventStream(answer.headers['content-type'])) res.flushHeaders();
      answer.body.once('error', () => {
        if (clientGone) return;
        upstreamFailed = true;
        exchange.outcome = 'upstream_error';
      });
      answer.body.on('data', (chunk: Buffer) => {
        exchange.ttfbMs ??= performance.now() - startedAt;
        exchange.bytesOut += chunk.length;
      });
      // On failure pipeline destroys both sides, so the client sees a cut response, not a short
      // one; the listeners above have already recorded who ended it.
      await pipeline(answer.body, res).catch(() => {});
    },
    close: () => dispatcher.close(),
  };
}
