// The Anthropic Messages API served over the OpenAI upstream (RELAY_ANTHROPIC): POST /v1/messages
// (JSON and streamed), POST /v1/messages/count_tokens (counted here) and GET /v1/models in
// Anthropic's list shape. The server admits the request first, with the same tokens and limits as
// any other; the upstream is called with the relay's key (or, in passthrough mode, the caller's),
// never with anything else from the client's headers.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { createUsageTap, type UsageTap } from '../access/usage-tap.js';
import { BodyTooLarge, readBody } from '../json-body.js';
import { filterModelList, type ModelPolicy } from '../models.js';
import { sendJson } from '../openai-error.js';
import { OutboundProxyFailure } from '../outbound-proxy.js';
import { pathOnly } from '../paths.js';
import { clientCloseSignal, type Exchange } from '../exchange.js';
import { sseEvents } from '../sse.js';
import { upstreamErrorMessage, type UpstreamCaller } from '../upstream-call.js';
import { countInputTokens } from './count-tokens.js';
import { AnthropicFailure, errorForUpstreamStatus, sendAnthropicError } from './errors.js';
import { anthropicModelList, chooseModel, type AnthropicModels } from './models.js';
import { chatCompletionRequest, type AnthropicRequest } from './request.js';
import { anthropicMessage, type ChatCompletion } from './response.js';
import { formatEvent, PING, StreamTranslator, streamError, type AnthropicEvent, type ChatChunk } from './stream.js';

/** Anthropic's own request size limit; conversations with images outgrow the relay's usual 10 MB. */
export const MAX_MESSAGES_BODY = 32 * 1024 * 1024;

export interface AnthropicApiOptions {
  models: AnthropicModels;
  /** RELAY_MODELS, applied after the Claude name is mapped. */
  allowed: ModelPolicy | undefined;
  /** A ping event after this long without one from the upstream, so idle proxies keep the stream. */
  pingMs?: number;
}

export interface AnthropicApi {
  /**
   * Whether the request is one for the Anthropic API: POST /v1/messages[/count_tokens], or any
   * request with an anthropic-version header. Its x-api-key is read as the relay token.
   */
  claims(req: IncomingMessage, target: string): boolean;
  /** Serves a claimed request once the server has admitted it. */
  handle(req: IncomingMessage, res: ServerResponse, target: string, exchange: Exchange): Promise<void>;
}

const MESSAGES = '/v1/messages';
const COUNT_TOKENS = '/v1/messages/count_tokens';

function messageId(): string {
  return `msg_${randomBytes(12).toString('hex')}`;
}

async function readRequest(req: IncomingMessage, exchange: Exchange): Promise<AnthropicRequest> {
  let body: Buffer;
  try {
    body = await readBody(req, MAX_MESSAGES_BODY);
  } catch (error) {
    if (error instanceof BodyTooLarge)
      throw new AnthropicFailure(413, 'request_too_large', `Request bodies are limited to ${MAX_MESSAGES_BODY / 1024 / 1024} MB.`);
    throw error;
  }
  exchange.bytesIn = body.length;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as AnthropicRequest;
  } catch {
    // Answered below.
  }
  throw new AnthropicFailure(400, 'invalid_request_error', 'The request body is not a JSON object.');
}

/** The upstream's answer to a failed call, as the Anthropic error the client gets. */
async function upstreamFailure(answer: Dispatcher.ResponseData, tap: UsageTap): Promise<AnthropicFailure> {
  const text = await answer.body.text();
  tap.onChunk(Buffer.from(text));
  let message: string | undefined;
  try {
    message = upstreamErrorMessage(JSON.parse(text));
  } catch {
    message = undefined;
  }
  const { status, type } = errorForUpstreamStatus(answer.statusCode);
  const retryAfter = answer.headers['retry-after'];
  return new AnthropicFailure(
    status,
    type,
    message ?? `The upstream API answered ${answer.statusCode}.`,
    typeof retryAfter === 'string' ? { 'retry-after': retryAfter } : {},
  );
}

export function createAnthropicApi(caller: UpstreamCaller, options: AnthropicApiOptions): AnthropicApi {
  const pingMs = options.pingMs ?? 10_000;

  const upstreamModel = (request: AnthropicRequest): string => {
    if (typeof request.model !== 'string' || request.model === '') throw new AnthropicFailure(400, 'invalid_request_error', 'model: a model name is required.');
    const choice = chooseModel(request.model, options.models, options.allowed);
    if (!choice.ok) throw new AnthropicFailure(404, 'not_found_error', choice.message);
    return choice.upstream;
  };

  /** Calls the upstream; a non-2xx answer is thrown as the Anthropic error for it. */
  const complete = async (body: unknown, exchange: Exchange, signal: AbortSignal): Promise<{ answer: Dispatcher.ResponseData; tap: UsageTap }> => {
    const answer = await caller.call('POST', '/v1/chat/completions', body, signal, exchange.upstreamAuthorization);
    exchange.requestId = answer.headers['x-request-id'] as string | undefined;
    const tap = createUsageTap({
      contentType: answer.headers['content-type'] as string | undefined,
      contentEncoding: answer.headers['content-encoding'] as string | undefined,
      status: answer.statusCode,
    });
    exchange.usage = tap;
    if (answer.statusCode >= 300) throw await upstreamFailure(answer, tap);
    return { answer, tap };
  };

  const requestIdHeader = (exchange: Exchange): Record<string, string> => (exchange.requestId ? { 'request-id': exchange.requestId } : {});

  const messages = async (req: IncomingMessage, res: ServerResponse, exchange: Exchange, signal: AbortSignal, startedAt: number): Promise<void> => {
    const request = await readRequest(req, exchange);
    const body = chatCompletionRequest(request, upstreamModel(request));
    const requested = request.model!;
    const stopSequences = request.stop_sequences ?? [];
    const { answer, tap } = await complete(body, exchange, signal);
    if (!request.stream) {
      const text = await answer.body.text();
      tap.onChunk(Buffer.from(text));
      exchange.ttfbMs = performance.now() - startedAt;
      const message = anthropicMessage(JSON.parse(text) as ChatCompletion, messageId(), requested, stopSequences);
      const out = JSON.stringify(message);
      exchange.bytesOut = Buffer.byteLength(out);
      sendJson(res, 200, message, requestIdHeader(exchange));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...requestIdHeader(exchange),
    });
    const translator = new StreamTranslator(messageId(), requested, stopSequences);
    const ping = setTimeout(() => {
      res.write(formatEvent(PING));
      ping.refresh();
    }, pingMs);
    const write = async (events: AnthropicEvent[]) => {
      if (events.length === 0) return;
      const text = events.map(formatEvent).join('');
      exchange.ttfbMs ??= performance.now() - startedAt;
      exchange.bytesOut += Buffer.byteLength(text);
      ping.refresh();
      if (!res.write(text)) await once(res, 'drain', { signal });
    };
    try {
      await write(translator.start());
      for await (const chunk of sseEvents(tapped(answer.body, tap))) await write(translator.push(chunk as ChatChunk));
      await write(translator.end());
      res.end();
    } catch (error) {
      if (signal.aborted) return;
      // Too late for a status: Anthropic's error event, then the end of the stream.
      exchange.outcome = 'upstream_error';
      res.end(formatEvent(streamError('api_error', `The upstream stream failed: ${(error as Error).message}`)));
    } finally {
      clearTimeout(ping);
    }
  };

  const countTokens = async (req: IncomingMessage, res: ServerResponse, exchange: Exchange): Promise<void> => {
    const request = await readRequest(req, exchange);
    // Checked and translated as a message would be, so the count is of what would go upstream.
    const body = chatCompletionRequest({ ...request, max_tokens: 1, stream: false }, upstreamModel(request));
    sendJson(res, 200, { input_tokens: await countInputTokens(body) });
  };

  const listModels = async (res: ServerResponse, exchange: Exchange, signal: AbortSignal): Promise<void> => {
    const { status, headers, json } = await caller.json('/v1/models', signal, exchange.upstreamAuthorization);
    exchange.requestId = headers['x-request-id'] as string | undefined;
    if (status !== 200) {
      const { status: mapped, type } = errorForUpstreamStatus(status);
      throw new AnthropicFailure(mapped, type, upstreamErrorMessage(json) ?? `The upstream API answered ${status}.`);
    }
    const listed = (json as { data?: Array<{ id: string; created?: number }> }).data ?? [];
    sendJson(res, 200, anthropicModelList(options.allowed ? filterModelList(options.allowed, listed) : listed), requestIdHeader(exchange));
  };

  return {
    claims(req, target) {
      const path = pathOnly(target);
      const claimed = req.headers['anthropic-version'] !== undefined || (req.method === 'POST' && (path === MESSAGES || path === COUNT_TOKENS));
      const apiKey = req.headers['x-api-key'];
      // Anthropic clients send their key as x-api-key: it is read as the relay token.
      if (claimed && req.headers.authorization === undefined && typeof apiKey === 'string') req.headers.authorization = `Bearer ${apiKey}`;
      return claimed;
    },
    async handle(req, res, target, exchange) {
      const startedAt = performance.now();
      const signal = clientCloseSignal(exchange);
      const path = pathOnly(target);
      try {
        if (req.method === 'POST' && path === MESSAGES) await messages(req, res, exchange, signal, startedAt);
        else if (req.method === 'POST' && path === COUNT_TOKENS) await countTokens(req, res, exchange);
        else if ((req.method === 'GET' || req.method === 'HEAD') && path === '/v1/models') await listModels(res, exchange, signal);
        else {
          throw new AnthropicFailure(
            404,
            'not_found_error',
            `${req.method} ${path.slice(0, 100)} is not part of the Anthropic API this relay serves: POST /v1/messages, POST /v1/messages/count_tokens and GET /v1/models.`,
          );
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof AnthropicFailure) {
          sendAnthropicError(res, error);
          return;
        }
        if (error instanceof OutboundProxyFailure) {
          exchange.outcome = 'upstream_error';
          sendAnthropicError(res, new AnthropicFailure(502, 'api_error', error.message));
          return;
        }
        const code = (error as { code?: unknown }).code;
        // Only a failed upstream call is the upstream's fault; anything else is the relay's (500).
        if (typeof code !== 'string') throw error;
        exchange.outcome = /TIMEOUT/.test(code) ? 'upstream_timeout' : 'upstream_error';
        sendAnthropicError(
          res,
          exchange.outcome === 'upstream_timeout'
            ? new AnthropicFailure(504, 'api_error', 'The upstream API did not answer in time.')
            : new AnthropicFailure(502, 'api_error', 'The relay could not get an answer from the upstream API.'),
        );
      }
    },
  };
}

/** The upstream body, each piece shown to the usage tap as it passes. */
async function* tapped(body: AsyncIterable<Buffer>, tap: UsageTap): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    tap.onChunk(chunk);
    yield chunk;
  }
}
