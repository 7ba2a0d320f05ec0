// The Anthropic Messages API served over the OpenAI upstream (RELAY_ANTHROPIC): POST /v1/messages
// (JSON and streamed), POST /v1/messages/count_tokens (counted here) and GET /v1/models in
// Anthropic's list shape. The server admits the request first, with the same tokens and limits as
// any other; the upstream is called with the relay's key (or, in passthrough mode, the caller's),
// never with anything else from the client's headers.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ChatChunk, ChatCompletion } from '../chat-completion.js';
import type { Exchange } from '../exchange.js';
import { filterModelList, type ModelPolicy } from '../models.js';
import { pathOnly } from '../paths.js';
import {
  answerTranslated,
  getUpstream,
  postUpstream,
  readJsonObject,
  sendAnswer,
  startStream,
  upstreamEvents,
  upstreamJson,
  writePiece,
  type UpstreamCaller,
} from '../upstream-call.js';
import { countInputTokens } from './count-tokens.js';
import { AnthropicFailure, sendAnthropicError } from './errors.js';
import { anthropicModelList, chooseModel, type AnthropicModels } from './models.js';
import { chatCompletionRequest, type AnthropicRequest } from './request.js';
import { anthropicMessage } from './response.js';
import { formatEvent, PING, StreamTranslator, type AnthropicEvent } from './stream.js';

/** Anthropic's own request size limit; conversations with images outgrow the relay's usual 10 MB. */
const MAX_MESSAGES_BODY = 32 * 1024 * 1024;

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
  /** Answers `exchange`, its `target` the path under the relay's prefix. */
  handle(exchange: Exchange): Promise<void>;
}

const MESSAGES = '/v1/messages';
const COUNT_TOKENS = '/v1/messages/count_tokens';

function messageId(): string {
  return `msg_${randomBytes(12).toString('hex')}`;
}

export function createAnthropicApi(caller: UpstreamCaller, options: AnthropicApiOptions): AnthropicApi {
  const pingMs = options.pingMs ?? 10_000;

  const readRequest = (exchange: Exchange) => readJsonObject(exchange, MAX_MESSAGES_BODY) as Promise<AnthropicRequest>;

  const upstreamModel = (request: AnthropicRequest): string => {
    if (typeof request.model !== 'string' || request.model === '') throw new AnthropicFailure(400, 'model: a model name is required.');
    const choice = chooseModel(request.model, options.models, options.allowed);
    if (!choice.ok) throw new AnthropicFailure(404, choice.message);
    return choice.upstream;
  };

  const requestIdHeader = (exchange: Exchange): Record<string, string> => (exchange.requestId ? { 'request-id': exchange.requestId } : {});

  const messages = async (exchange: Exchange, signal: AbortSignal): Promise<void> => {
    const request = await readRequest(exchange);
    const body = chatCompletionRequest(request, upstreamModel(request));
    const requested = request.model!;
    const stopSequences = request.stop_sequences ?? [];
    const answer = await postUpstream(caller, exchange, '/v1/chat/completions', body, signal);
    if (!request.stream) {
      const completion = (await upstreamJson(answer, exchange)) as ChatCompletion;
      sendAnswer(exchange, anthropicMessage(completion, messageId(), requested, stopSequences), requestIdHeader(exchange));
      return;
    }
    startStream(exchange, 'text/event-stream; charset=utf-8', requestIdHeader(exchange));
    const translator = new StreamTranslator(messageId(), requested, stopSequences);
    const ping = setTimeout(() => {
      exchange.res.write(formatEvent(PING));
      ping.refresh();
    }, pingMs);
    const write = async (events: AnthropicEvent[]) => {
      if (events.length === 0) return;
      ping.refresh();
      await writePiece(exchange, events.map(formatEvent).join(''), signal);
    };
    try {
      await write(translator.start());
      for await (const chunk of upstreamEvents(answer, exchange)) await write(translator.push(chunk as ChatChunk));
      await write(translator.end());
      exchange.res.end();
    } finally {
      clearTimeout(ping);
    }
  };

  const countTokens = async (exchange: Exchange): Promise<void> => {
    const request = await readRequest(exchange);
    // Checked and translated as a message would be, so the count is of what would go upstream.
    const body = chatCompletionRequest({ ...request, max_tokens: 1, stream: false }, upstreamModel(request));
    sendAnswer(exchange, { input_tokens: await countInputTokens(body) });
  };

  const listModels = async (exchange: Exchange, signal: AbortSignal): Promise<void> => {
    const json = await getUpstream(caller, exchange, '/v1/models', signal);
    const listed = (json as { data?: Array<{ id: string; created?: number }> }).data ?? [];
    sendAnswer(exchange, anthropicModelList(options.allowed ? filterModelList(options.allowed, listed) : listed), requestIdHeader(exchange));
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
    handle(exchange) {
      const { req } = exchange;
      const path = pathOnly(exchange.target);
      return answerTranslated(exchange, sendAnthropicError, async (signal) => {
        if (req.method === 'POST' && path === MESSAGES) await messages(exchange, signal);
        else if (req.method === 'POST' && path === COUNT_TOKENS) await countTokens(exchange);
        else if ((req.method === 'GET' || req.method === 'HEAD') && path === '/v1/models') await listModels(exchange, signal);
        else {
          const served = 'POST /v1/messages, POST /v1/messages/count_tokens and GET /v1/models';
          throw new AnthropicFailure(404, `${req.method} ${path.slice(0, 100)} is not part of the Anthropic API this relay serves: ${served}.`);
        }
      });
    },
  };
}
