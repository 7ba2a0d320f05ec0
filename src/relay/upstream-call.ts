// Calls the relay makes on its own behalf (filtered model lists, the API translations), through
// the same undici dispatcher as the proxy: one HTTP client, one connection pool, one set of timeouts.
// Below the caller, what the two API translations (anthropic/, ollama/) share: reading the request,
// calling the upstream and reading its answer, writing theirs, and failures in their API's shape.
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { rateLimitMessage } from './access/rate-limit-response.js';
import { createUsageTap } from './access/usage-tap.js';
import type { Upstream } from './config.js';
import { clientCloseSignal, type Exchange } from './exchange.js';
import { accountHeaders, type UpstreamCredentials } from './headers.js';
import { ApiFailure, BodyTooLarge, OutboundProxyFailure } from './errors.js';
import { MAX_JSON_BODY, parseJson, readBody } from './json-body.js';
import { sendJsonText, type ApiErrors } from './openai-error.js';
import { describeProxyFailure } from './outbound-proxy.js';
import { sseEvents } from './sse.js';

export interface UpstreamCaller {
  /**
   * `path` starts with /v1/; a body is sent as JSON. `authorization`: what goes upstream instead of
   * the server key (a passthrough caller's own, see access-mode.ts). Rejects with an
   * OutboundProxyFailure when the outbound proxy refused or could not be reached.
   */
  call(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, authorization?: string): Promise<Dispatcher.ResponseData>;
  /** Reads a JSON answer; `json` is undefined when the body is not JSON. */
  json(path: string, signal?: AbortSignal, authorization?: string): Promise<{ status: number; headers: Dispatcher.ResponseData['headers']; json: unknown }>;
}

export function createUpstreamCaller(upstream: Upstream, credentials: UpstreamCredentials, dispatcher: Dispatcher): UpstreamCaller {
  const account = accountHeaders(credentials);
  const { proxy } = upstream;
  // The server's organization and project go with the server key only.
  const call: UpstreamCaller['call'] = (method, path, body, signal, authorization) =>
    dispatcher
      .request({
        origin: upstream.origin,
        path: upstream.basePath + path,
        method,
        headers: {
          ...(authorization === undefined ? account : {}),
          authorization: authorization ?? `Bearer ${credentials.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal,
      })
      .catch((error: Error) => {
        const failure = proxy && describeProxyFailure(proxy, error);
        throw failure ? new OutboundProxyFailure(failure.message, failure.code) : error;
      });
  return {
    call,
    async json(path, signal, authorization) {
      const answer = await call('GET', path, undefined, signal, authorization);
      return { status: answer.statusCode, headers: answer.headers, json: parseJson(await answer.body.text()) };
    },
  };
}


/** How a translated API sends a failure: as its error body, or mid-stream as its stream's last word. */
type SendFailure = (res: ServerResponse, failure: ApiFailure) => void;

/**
 * Answers one translated request: `answer` gets a signal that aborts when the client leaves. Its
 * ApiFailure, or an upstream that never answered (502, 504), is sent in the API's shape; anything
 * else is the relay's own failure, left to the route's `errors.failed` (500).
 */
export async function answerTranslated(exchange: Exchange, send: SendFailure, answer: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const signal = clientCloseSignal(exchange);
  try {
    await answer(signal);
  } catch (error) {
    if (signal.aborted) return;
    const failure = error instanceof ApiFailure ? error : unanswered(error);
    if (failure === undefined) throw error;
    if (failure.outcome) exchange.outcome = failure.outcome;
    send(exchange.res, failure);
  }
}

function unanswered(error: unknown): ApiFailure | undefined {
  if (error instanceof OutboundProxyFailure) return new ApiFailure(502, error.message, {}, 'upstream_error');
  // Only a failed upstream call carries an error code (undici's, the socket's).
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code.includes('TIMEOUT')) return new ApiFailure(504, 'The upstream API did not answer in time.', {}, 'upstream_timeout');
  return new ApiFailure(502, 'The relay could not get an answer from the upstream API.', {}, 'upstream_error');
}

/** The relay's own refusals (routes.ts) in a translated API's shape. */
export function translatedErrors(send: SendFailure): ApiErrors {
  return {
    unauthorized: (res, message) => send(res, new ApiFailure(401, message)),
    rateLimited: (res, refused, who, limit) =>
      send(res, new ApiFailure(429, rateLimitMessage(refused, who, limit), { 'retry-after': String(refused.retryAfterSec) })),
    failed: (res) => send(res, new ApiFailure(500, 'The relay failed unexpectedly.')),
  };
}

/** The request body, which must be a JSON object: 413 past `limit`, else 400. */
export async function readJsonObject(exchange: Exchange, limit = MAX_JSON_BODY): Promise<Record<string, unknown>> {
  let body: Buffer;
  try {
    body = await readBody(exchange.req, limit);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw new ApiFailure(413, `Request bodies are limited to ${limit / 1024 / 1024} MB.`);
    throw error;
  }
  exchange.bytesIn = body.length;
  const json = parseJson(body.toString('utf8'));
  if (json && typeof json === 'object' && !Array.isArray(json)) return json as Record<string, unknown>;
  throw new ApiFailure(400, 'The request body is not a JSON object.');
}

/** The upstream's error for a failed call, with its status, message and retry-after. */
function refusedUpstream(status: number, headers: Dispatcher.ResponseData['headers'], json: unknown): ApiFailure {
  const message = (json as { error?: { message?: unknown } } | undefined)?.error?.message;
  const retryAfter = headers['retry-after'];
  return new ApiFailure(
    status,
    typeof message === 'string' ? message : `The upstream API answered ${status}.`,
    typeof retryAfter === 'string' ? { 'retry-after': retryAfter } : {},
  );
}

function requestId(headers: Dispatcher.ResponseData['headers']): string | undefined {
  const id = headers['x-request-id'];
  return typeof id === 'string' ? id : undefined;
}

/** POSTs a translated request (chat completions, embeddings); the usage tap sees the answer. A non-2xx answer is thrown. */
export async function postUpstream(
  caller: UpstreamCaller,
  exchange: Exchange,
  path: string,
  body: unknown,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  const answer = await caller.call('POST', path, body, signal, exchange.upstreamAuthorization);
  const { headers } = answer;
  exchange.requestId = requestId(headers);
  exchange.usage = createUsageTap({
    contentType: headers['content-type'] as string | undefined,
    contentEncoding: headers['content-encoding'] as string | undefined,
    status: answer.statusCode,
  });
  if (answer.statusCode >= 300) throw refusedUpstream(answer.statusCode, headers, parseJson(await wholeText(answer, exchange)));
  return answer;
}

/** GETs a JSON answer (a model list, a model); anything but a 200 is thrown. */
export async function getUpstream(caller: UpstreamCaller, exchange: Exchange, path: string, signal: AbortSignal): Promise<unknown> {
  const { status, headers, json } = await caller.json(path, signal, exchange.upstreamAuthorization);
  exchange.requestId = requestId(headers);
  if (status !== 200) throw refusedUpstream(status, headers, json);
  if (json === undefined) throw notJson();
  return json;
}

async function wholeText(answer: Dispatcher.ResponseData, exchange: Exchange): Promise<string> {
  const text = await answer.body.text();
  exchange.usage?.onChunk(Buffer.from(text));
  return text;
}

function notJson(): ApiFailure {
  return new ApiFailure(502, 'The upstream API answered with something that is not JSON.', {}, 'upstream_error');
}

/** A whole JSON answer from postUpstream. */
export async function upstreamJson(answer: Dispatcher.ResponseData, exchange: Exchange): Promise<unknown> {
  const json = parseJson(await wholeText(answer, exchange));
  if (json === undefined) throw notJson();
  return json;
}

/**
 * A streamed answer from postUpstream, as its JSON events up to "[DONE]"; each piece goes past the
 * usage tap first. A stream that breaks off or carries what is not JSON is the upstream's failure.
 */
export async function* upstreamEvents(answer: Dispatcher.ResponseData, exchange: Exchange): AsyncGenerator<Record<string, unknown>> {
  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      exchange.usage?.onChunk(chunk);
      yield chunk;
    }
  }
  try {
    yield* sseEvents(tapped());
  } catch (error) {
    throw new ApiFailure(502, `The upstream stream failed: ${(error as Error).message}`, {}, 'upstream_error');
  }
}

/** A whole JSON answer to the client. */
export function sendAnswer(exchange: Exchange, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  exchange.ttfbMs ??= performance.now() - exchange.startedAt;
  exchange.bytesOut += Buffer.byteLength(text);
  sendJsonText(exchange.res, 200, text, headers);
}

/** The head of a streamed answer, sent at once so the client knows the upstream has answered. */
export function startStream(exchange: Exchange, contentType: string, headers: Record<string, string> = {}): void {
  exchange.res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers });
  exchange.res.flushHeaders();
}

/** One piece of a streamed answer, as soon as it is known; waits while the client's buffer is full. */
export async function writePiece(exchange: Exchange, text: string, signal: AbortSignal): Promise<void> {
  exchange.ttfbMs ??= performance.now() - exchange.startedAt;
  exchange.bytesOut += Buffer.byteLength(text);
  if (!exchange.res.write(text)) await once(exchange.res, 'drain', { signal });
}
