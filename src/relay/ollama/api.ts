// Ollama API emulation for tools that speak only Ollama (Copilot's Ollama provider, Open WebUI's
// Ollama connection). It lives under a secret path, because Ollama clients cannot send a token:
// the path is the credential, compared in constant time. Chat and generate become chat completions.
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { BodyTooLarge, readBody } from '../json-body.js';
import { filterModelList, resolveModel, type ModelPolicy } from '../models.js';
import { rateLimitMessage } from '../access/rate-limit-response.js';
import { sendJson, type ApiErrors } from '../openai-error.js';
import { OutboundProxyFailure } from '../outbound-proxy.js';
import { pathOnly } from '../paths.js';
import { clientCloseSignal, type Exchange } from '../exchange.js';
import { upstreamErrorMessage, type UpstreamCaller } from '../upstream-call.js';
import { sseEvents } from '../sse.js';
import {
  chatRequest,
  doneReason,
  doneStats,
  embeddingsFromOpenAI,
  embeddingsRequest,
  generateRequest,
  modelName,
  showFromModel,
  tagFromModel,
  toolCallsFromOpenAI,
  type OllamaChatRequest,
  type OllamaEmbedRequest,
  type OpenAIEmbeddings,
  type OllamaGenerateRequest,
  type OpenAIUsage,
} from './translate.js';

/** What /api/version reports: recent enough for clients that check (Copilot wants >= 0.6.4). */
export const OLLAMA_VERSION = '0.12.0';

export interface OllamaApi {
  /** The rest of `target` after the secret path, or undefined when `target` does not start with it. */
  match(target: string): string | undefined;
  /** The target's path as the log may show it: `/<ollama>/...` under the secret path, and never the secret in any form. */
  loggedPath(target: string, rest: string | undefined): string;
  handle(req: IncomingMessage, res: ServerResponse, rest: string, exchange: Exchange): Promise<void>;
}

class OllamaFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function sendOllamaError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    // Mid-stream, as Ollama itself does: a last NDJSON line with the error, then the end.
    if (!res.writableEnded) res.end(`${JSON.stringify({ error: message })}\n`);
    return;
  }
  sendJson(res, status, { error: message }, headers);
}

/** The relay's own refusals in Ollama's shape, {"error": "..."}: the Ollama route's errors (routes.ts). */
export const ollamaErrors: ApiErrors = {
  unauthorized: (res, message) => sendOllamaError(res, 401, message),
  rateLimited: (res, refused, who, limit) => sendOllamaError(res, 429, rateLimitMessage(refused, who, limit), { 'retry-after': String(refused.retryAfterSec) }),
  failed: (res) => sendOllamaError(res, 500, 'the relay failed unexpectedly'),
};

/** What the log shows for a path that holds the secret elsewhere than at its start. */
export const HIDDEN_PATH = '<path holding the Ollama secret>';

/** True when `path` holds `secret` (lower case), raw or percent-encoded any number of times, in any case. */
export function holdsSecret(path: string, secret: string): boolean {
  let text = path.toLowerCase();
  for (;;) {
    if (text.includes(secret)) return true;
    // Each round is shorter than the last, so this ends.
    const decoded = text.replace(/%([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))).toLowerCase();
    if (decoded === text) return false;
    text = decoded;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

interface ChatCompletion {
  choices?: Array<{ message?: { content?: string | null; tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> }; finish_reason?: string | null }>;
  usage?: OpenAIUsage;
}

interface ChatChunk {
  choices?: Array<{ delta?: { content?: string | null; tool_calls?: Array<{ index?: number; function?: { name?: string; arguments?: string } }> }; finish_reason?: string | null }>;
  usage?: OpenAIUsage | null;
}

export function createOllamaApi(secretPath: string, caller: UpstreamCaller, models: ModelPolicy | undefined): OllamaApi {
  const secretDigest = digest(secretPath);
  const secret = secretPath.slice(secretPath.lastIndexOf('/') + 1).toLowerCase();

  const upstreamModel = (requested: unknown): { name: string; target: string } => {
    const name = modelName(typeof requested === 'string' ? requested : '');
    if (!name) throw new OllamaFailure(400, 'model is required');
    const target = models ? resolveModel(models, name) : name;
    if (target === undefined) throw new OllamaFailure(404, `model "${name}" not found, try pulling it first`);
    return { name, target };
  };

  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    try {
      const parsed = JSON.parse((await readBody(req)).toString('utf8') || '{}') as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new OllamaFailure(413, 'request body too large');
    }
    throw new OllamaFailure(400, 'invalid JSON in request body');
  };

  /** Calls the upstream (chat completions unless `path` says otherwise); a non-2xx answer becomes an Ollama error with the upstream's status and message. */
  const complete = async (body: Record<string, unknown>, exchange: Exchange, signal: AbortSignal, path = '/v1/chat/completions'): Promise<Dispatcher.ResponseData> => {
    const answer = await caller.call('POST', path, body, signal);
    exchange.requestId = answer.headers['x-request-id'] as string | undefined;
    if (answer.statusCode >= 300) {
      const text = await answer.body.text();
      let message: string | undefined;
      try {
        message = upstreamErrorMessage(JSON.parse(text));
      } catch {
        message = undefined;
      }
      throw new OllamaFailure(answer.statusCode, message ?? `upstream answered ${answer.statusCode}`);
    }
    return answer;
  };

  /**
   * Runs one chat completion and answers in Ollama's shape, streamed as NDJSON or whole.
   * `wrap` turns (content, tool calls) into Ollama's message fields for chat or generate.
   */
  const converse = async (
    res: ServerResponse,
    exchange: Exchange,
    signal: AbortSignal,
    name: string,
    request: Record<string, unknown>,
    stream: boolean,
    wrap: (content: string, toolCalls?: ReturnType<typeof toolCallsFromOpenAI>) => Record<string, unknown>,
  ): Promise<void> => {
    const startedAt = performance.now();
    const answer = await complete(request, exchange, signal);
    const createdAt = () => new Date().toISOString();
    if (!stream) {
      const completion = (await answer.body.json()) as ChatCompletion;
      const choice = completion.choices?.[0];
      sendJson(res, 200, {
        model: name,
        created_at: createdAt(),
        ...wrap(choice?.message?.content ?? '', toolCallsFromOpenAI(choice?.message?.tool_calls)),
        done: true,
        done_reason: doneReason(choice?.finish_reason),
        ...doneStats(completion.usage, performance.now() - startedAt),
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-accel-buffering': 'no', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const write = async (line: Record<string, unknown>) => {
      if (!res.write(`${JSON.stringify({ model: name, created_at: createdAt(), ...line })}\n`)) await once(res, 'drain', { signal });
    };
    const calls: Array<{ name: string; arguments: string }> = [];
    let finish: string | null | undefined;
    let usage: OpenAIUsage | undefined;
    for await (const event of sseEvents(answer.body) as AsyncGenerator<ChatChunk>) {
      exchange.ttfbMs ??= performance.now() - startedAt;
      if (event.usage) usage = event.usage;
      const choice = event.choices?.[0];
      if (!choice) continue;
      finish = choice.finish_reason ?? finish;
      for (const call of choice.delta?.tool_calls ?? []) {
        const slot = (calls[call.index ?? 0] ??= { name: '', arguments: '' });
        slot.name += call.function?.name ?? '';
        slot.arguments += call.function?.arguments ?? '';
      }
      const content = choice.delta?.content;
      if (content) await write({ ...wrap(content), done: false });
    }
    // Ollama sends tool calls whole, in one message, not as argument fragments.
    const toolCalls = toolCallsFromOpenAI(calls.filter(Boolean).map((call) => ({ function: call })));
    if (toolCalls) await write({ ...wrap('', toolCalls), done: false });
    res.end(`${JSON.stringify({ model: name, created_at: createdAt(), ...wrap(''), done: true, done_reason: doneReason(finish), ...doneStats(usage, performance.now() - startedAt) })}\n`);
  };

  const routes = async (req: IncomingMessage, res: ServerResponse, route: string, exchange: Exchange, signal: AbortSignal): Promise<void> => {
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    if (route !== '' && !route.startsWith('/')) {
      throw new OllamaFailure(404, 'not found');
    } else if (get && (route === '' || route === '/')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Ollama is running');
    } else if (get && route === '/api/version') {
      sendJson(res, 200, { version: OLLAMA_VERSION });
    } else if (get && route === '/api/ps') {
      sendJson(res, 200, { models: [] });
    } else if (get && route === '/api/tags') {
      const { status, headers, json } = await caller.json('/v1/models', signal);
      exchange.requestId = headers['x-request-id'] as string | undefined;
      if (status !== 200) throw new OllamaFailure(status, upstreamErrorMessage(json) ?? `upstream answered ${status}`);
      const listed = (json as { data?: Array<{ id: string }> }).data ?? [];
      sendJson(res, 200, { models: (models ? filterModelList(models, listed) : listed).map(tagFromModel) });
    } else if (method === 'POST' && route === '/api/show') {
      const body = await readJson(req);
      const { name, target } = upstreamModel(body.model ?? body.name);
      const { status, json } = await caller.json(`/v1/models/${encodeURIComponent(target)}`, signal);
      if (status === 404) throw new OllamaFailure(404, `model "${name}" not found`);
      if (status !== 200) throw new OllamaFailure(status, upstreamErrorMessage(json) ?? `upstream answered ${status}`);
      sendJson(res, 200, showFromModel(name, json as { id: string }));
    } else if (method === 'POST' && route === '/api/chat') {
      const body = (await readJson(req)) as OllamaChatRequest;
      const { name, target } = upstreamModel(body.model);
      // Ollama streams unless told not to.
      const stream = body.stream !== false;
      await converse(res, exchange, signal, name, chatRequest(body, target, stream), stream, (content, toolCalls) => ({
        message: { role: 'assistant', content, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
      }));
    } else if (method === 'POST' && route === '/api/generate') {
      const body = (await readJson(req)) as OllamaGenerateRequest;
      const { name, target } = upstreamModel(body.model);
      const stream = body.stream !== false;
      if (!body.prompt && !body.images?.length) {
        // An empty prompt is how Ollama clients ask for a model to be loaded.
        sendJson(res, 200, { model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
        return;
      }
      await converse(res, exchange, signal, name, generateRequest(body, target, stream), stream, (content) => ({ response: content }));
    } else if (method === 'POST' && (route === '/api/embed' || route === '/api/embeddings')) {
      const body = (await readJson(req)) as OllamaEmbedRequest;
      const { name, target } = upstreamModel(body.model);
      // /api/embeddings is the older form: one prompt in, one embedding out.
      const legacy = route === '/api/embeddings';
      const inputs: unknown[] = legacy ? [body.prompt] : typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input : [];
      if (!inputs.every((input) => typeof input === 'string')) throw new OllamaFailure(400, legacy ? 'prompt must be a string' : 'input must be a string or a list of strings');
      const startedAt = performance.now();
      const result = inputs.length === 0 ? {} : ((await (await complete(embeddingsRequest(inputs as string[], target, body.dimensions), exchange, signal, '/v1/embeddings')).body.json()) as OpenAIEmbeddings);
      const embeddings = embeddingsFromOpenAI(result);
      if (legacy) sendJson(res, 200, { embedding: embeddings[0] ?? [] });
      else sendJson(res, 200, { model: name, embeddings, total_duration: Math.round((performance.now() - startedAt) * 1e6), load_duration: 0, prompt_eval_count: result.usage?.prompt_tokens ?? 0 });
    } else {
      throw new OllamaFailure(404, `${method} ${route.slice(0, 100)} is not part of the Ollama API this relay emulates`);
    }
  };

  return {
    match(target) {
      // Hash, then compare: constant time whatever the lengths. A target that merely starts with
      // the secret ("/<secret>x") is still claimed here, so the secret never reaches the log.
      return timingSafeEqual(digest(target.slice(0, secretPath.length)), secretDigest) ? target.slice(secretPath.length) : undefined;
    },
    loggedPath(target, rest) {
      const path = pathOnly(rest ?? target);
      if (holdsSecret(path, secret)) return HIDDEN_PATH;
      return rest === undefined ? path : `/<ollama>${path}`;
    },
    async handle(req, res, rest, exchange) {
      const signal = clientCloseSignal(exchange);
      try {
        // "/api/tags/" is "/api/tags", as in Ollama.
        await routes(req, res, pathOnly(rest).replace(/(.)\/+$/, '$1'), exchange, signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof OllamaFailure) {
          sendOllamaError(res, error.status, error.message);
          return;
        }
        if (error instanceof OutboundProxyFailure) {
          exchange.outcome = 'upstream_error';
          sendOllamaError(res, 502, error.message);
          return;
        }
        const code = (error as { code?: string }).code ?? '';
        exchange.outcome = /TIMEOUT/.test(code) ? 'upstream_timeout' : 'upstream_error';
        sendOllamaError(res, exchange.outcome === 'upstream_timeout' ? 504 : 502, 'the relay could not get an answer from the upstream API');
      }
    },
  };
}
