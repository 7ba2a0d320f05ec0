// Ollama API emulation for tools that speak only Ollama (Copilot's Ollama provider, Open WebUI's
// Ollama connection). It lives under a secret path, because Ollama clients cannot send a token:
// the path is the credential, compared in constant time. Chat and generate become chat completions.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ChatChunk, ChatCompletion, OpenAIUsage } from '../chat-completion.js';
import { ApiFailure } from '../errors.js';
import type { Exchange } from '../exchange.js';
import { filterModelList, resolveModel, type ModelPolicy } from '../models.js';
import { sendJson, type ApiErrors } from '../openai-error.js';
import { pathOnly } from '../paths.js';
import {
  answerTranslated,
  getUpstream,
  postUpstream,
  readJsonObject,
  sendAnswer,
  startStream,
  translatedErrors,
  upstreamEvents,
  upstreamJson,
  writePiece,
  type UpstreamCaller,
} from '../upstream-call.js';
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
  type OllamaGenerateRequest,
  type OllamaToolCall,
  type OpenAIEmbeddings,
} from './translate.js';

/** What /api/version reports: recent enough for clients that check (Copilot wants >= 0.6.4). */
const OLLAMA_VERSION = '0.12.0';

export interface OllamaApi {
  /** The rest of `target` after the secret path, or undefined when `target` does not start with it. */
  match(target: string): string | undefined;
  /** The target's path as the log may show it: `/<ollama>/...` under the secret path, and never the secret in any form. */
  loggedPath(target: string, rest: string | undefined): string;
  /** Answers `exchange`, its `target` the rest of the path after the secret. */
  handle(exchange: Exchange): Promise<void>;
}

function sendOllamaError(res: ServerResponse, failure: ApiFailure): void {
  if (!res.headersSent) sendJson(res, failure.status, { error: failure.message }, failure.headers);
  // Mid-stream, as Ollama itself does: a last NDJSON line with the error, then the end.
  else if (!res.writableEnded) res.end(`${JSON.stringify({ error: failure.message })}\n`);
}

/** The relay's own refusals in Ollama's shape, {"error": "..."}: the Ollama route's errors (routes.ts). */
export const ollamaErrors: ApiErrors = translatedErrors(sendOllamaError);

/** What the log shows for a path that holds the secret elsewhere than at its start. */
const HIDDEN_PATH = '<path holding the Ollama secret>';

/** True when `path` holds `secret` (lower case), raw or percent-encoded any number of times, in any case. */
function holdsSecret(path: string, secret: string): boolean {
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

/** Chat and generate differ only in where the answer goes: (content, tool calls) -> Ollama's fields. */
type Wrap = (content: string, toolCalls?: OllamaToolCall[]) => Record<string, unknown>;

export function createOllamaApi(secretPath: string, caller: UpstreamCaller, models: ModelPolicy | undefined): OllamaApi {
  const secretDigest = digest(secretPath);
  const secret = secretPath.slice(secretPath.lastIndexOf('/') + 1).toLowerCase();

  const upstreamModel = (requested: unknown): { name: string; target: string } => {
    const name = modelName(typeof requested === 'string' ? requested : '');
    if (!name) throw new ApiFailure(400, 'model is required');
    const target = models ? resolveModel(models, name) : name;
    if (target === undefined) throw new ApiFailure(404, `model "${name}" not found, try pulling it first`);
    return { name, target };
  };

  /** Runs one chat completion and answers in Ollama's shape, streamed as NDJSON or whole. */
  const converse = async (exchange: Exchange, signal: AbortSignal, name: string, request: Record<string, unknown>, stream: boolean, wrap: Wrap) => {
    const startedAt = performance.now();
    const answer = await postUpstream(caller, exchange, '/v1/chat/completions', request, signal);
    const line = (fields: Record<string, unknown>) => ({ model: name, created_at: new Date().toISOString(), ...fields });
    const done = (usage: OpenAIUsage | null | undefined, finish: string | null | undefined) => ({
      done: true,
      done_reason: doneReason(finish),
      ...doneStats(usage, performance.now() - startedAt),
    });
    if (!stream) {
      const completion = (await upstreamJson(answer, exchange)) as ChatCompletion;
      const choice = completion.choices?.[0];
      const message = wrap(choice?.message?.content ?? '', toolCallsFromOpenAI(choice?.message?.tool_calls));
      sendAnswer(exchange, line({ ...message, ...done(completion.usage, choice?.finish_reason) }));
      return;
    }
    startStream(exchange, 'application/x-ndjson');
    const write = (fields: Record<string, unknown>) => writePiece(exchange, `${JSON.stringify(line(fields))}\n`, signal);
    const calls: Array<{ name: string; arguments: string }> = [];
    let finish: string | null | undefined;
    let usage: OpenAIUsage | null | undefined;
    for await (const event of upstreamEvents(answer, exchange) as AsyncGenerator<ChatChunk>) {
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
    await write({ ...wrap(''), ...done(usage, finish) });
    exchange.res.end();
  };

  const embed = async (exchange: Exchange, signal: AbortSignal, legacy: boolean) => {
    const body = (await readJsonObject(exchange)) as OllamaEmbedRequest;
    const { name, target } = upstreamModel(body.model);
    // /api/embeddings is the older form: one prompt in, one embedding out.
    const inputs: unknown[] = legacy ? [body.prompt] : typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input : [];
    if (!inputs.every((input) => typeof input === 'string')) {
      throw new ApiFailure(400, legacy ? 'prompt must be a string' : 'input must be a string or a list of strings');
    }
    const startedAt = performance.now();
    let result: OpenAIEmbeddings = {};
    if (inputs.length > 0) {
      const answer = await postUpstream(caller, exchange, '/v1/embeddings', embeddingsRequest(inputs as string[], target, body.dimensions), signal);
      result = (await upstreamJson(answer, exchange)) as OpenAIEmbeddings;
    }
    const embeddings = embeddingsFromOpenAI(result);
    if (legacy) sendAnswer(exchange, { embedding: embeddings[0] ?? [] });
    else {
      const total = Math.round((performance.now() - startedAt) * 1e6);
      sendAnswer(exchange, { model: name, embeddings, total_duration: total, load_duration: 0, prompt_eval_count: result.usage?.prompt_tokens ?? 0 });
    }
  };

  const routes = async (exchange: Exchange, route: string, signal: AbortSignal): Promise<void> => {
    const method = exchange.req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    if (route !== '' && !route.startsWith('/')) {
      throw new ApiFailure(404, 'not found');
    } else if (get && (route === '' || route === '/')) {
      exchange.res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      exchange.res.end('Ollama is running');
    } else if (get && route === '/api/version') {
      sendAnswer(exchange, { version: OLLAMA_VERSION });
    } else if (get && route === '/api/ps') {
      sendAnswer(exchange, { models: [] });
    } else if (get && route === '/api/tags') {
      const listed = ((await getUpstream(caller, exchange, '/v1/models', signal)) as { data?: Array<{ id: string }> }).data ?? [];
      sendAnswer(exchange, { models: (models ? filterModelList(models, listed) : listed).map(tagFromModel) });
    } else if (method === 'POST' && route === '/api/show') {
      const body = await readJsonObject(exchange);
      const { name, target } = upstreamModel(body.model ?? body.name);
      const model = await getUpstream(caller, exchange, `/v1/models/${encodeURIComponent(target)}`, signal).catch((error: unknown) => {
        throw error instanceof ApiFailure && error.status === 404 ? new ApiFailure(404, `model "${name}" not found`) : error;
      });
      sendAnswer(exchange, showFromModel(name, model as { id: string }));
    } else if (method === 'POST' && route === '/api/chat') {
      const body = (await readJsonObject(exchange)) as OllamaChatRequest;
      const { name, target } = upstreamModel(body.model);
      // Ollama streams unless told not to.
      const stream = body.stream !== false;
      await converse(exchange, signal, name, chatRequest(body, target, stream), stream, (content, toolCalls) => ({
        message: { role: 'assistant', content, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
      }));
    } else if (method === 'POST' && route === '/api/generate') {
      const body = (await readJsonObject(exchange)) as OllamaGenerateRequest;
      const { name, target } = upstreamModel(body.model);
      const stream = body.stream !== false;
      // An empty prompt is how Ollama clients ask for a model to be loaded.
      const load = !body.prompt && !body.images?.length;
      if (load) sendAnswer(exchange, { model: name, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
      else await converse(exchange, signal, name, generateRequest(body, target, stream), stream, (content) => ({ response: content }));
    } else if (method === 'POST' && (route === '/api/embed' || route === '/api/embeddings')) {
      await embed(exchange, signal, route === '/api/embeddings');
    } else {
      throw new ApiFailure(404, `${method} ${route.slice(0, 100)} is not part of the Ollama API this relay emulates`);
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
    handle(exchange) {
      // "/api/tags/" is "/api/tags", as in Ollama.
      const route = pathOnly(exchange.target).replace(/(.)\/+$/, '$1');
      return answerTranslated(exchange, sendOllamaError, (signal) => routes(exchange, route, signal));
    },
  };
}
