// Model allow-list and aliases (RELAY_MODELS="gpt-4o-mini,fast=gpt-4o-mini"). Only when it is set
// does the relay read JSON request bodies, to check and rewrite "model"; a body it cannot read is
// refused. Multipart uploads are never buffered and pass unchecked.
import type { ServerResponse } from 'node:http';
import { ConfigError } from '../shared/errors.js';
import type { Exchange } from './exchange.js';
import { clientResponseHeaders } from './headers.js';
import { BodyTooLarge, OutboundProxyFailure } from './errors.js';
import { hasBody, isMultipart, MAX_JSON_BODY, readBody } from './json-body.js';
import { sendError, sendJson } from './openai-error.js';
import { pathOnly } from './paths.js';
import type { UpstreamCaller } from './upstream-call.js';

export interface ModelPolicy {
  /** Name a client may use -> model sent upstream. Allowed models map to themselves. */
  names: ReadonlyMap<string, string>;
}

export function parseModelPolicy(text: string | undefined): ModelPolicy | undefined {
  const entries = (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  const names = new Map<string, string>();
  for (const entry of entries) {
    const [name, target, extra] = entry.split('=').map((part) => part.trim());
    if (!name || extra !== undefined || target === '') {
      const fix = 'List models and aliases comma-separated, e.g. RELAY_MODELS=gpt-4o-mini,fast=gpt-4o-mini';
      throw new ConfigError(`RELAY_MODELS: cannot read "${entry}".`, { fix });
    }
    names.set(name, target ?? name);
  }
  return { names };
}

/** The upstream model for a name a client sent, or undefined when it is not allowed. */
export function resolveModel(policy: ModelPolicy, name: string): string | undefined {
  return policy.names.get(name);
}

interface ModelEntry {
  id: string;
  object?: string;
  [key: string]: unknown;
}

/** The upstream's list filtered to the allow-list, aliases listed as models of their own. */
export function filterModelList(policy: ModelPolicy, upstreamModels: ModelEntry[]): ModelEntry[] {
  const byId = new Map(upstreamModels.map((model) => [model.id, model]));
  const out: ModelEntry[] = [];
  for (const [name, target] of policy.names) {
    const found = byId.get(target);
    if (found) out.push({ ...found, id: name });
  }
  return out;
}

// Fatal: invalid UTF-8 is refused rather than read differently from the upstream; a BOM is kept, so JSON.parse refuses it.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Forward = (exchange: Exchange, body?: Buffer) => void;

export interface ModelGate {
  handle(exchange: Exchange): Promise<void>;
}

/** A name in a path, or undefined when its percent-encoding is broken (no model has such a name). */
function decodedName(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

export function createModelGate(policy: ModelPolicy, caller: UpstreamCaller, forward: Forward): ModelGate {
  const answerFromUpstream = async (res: ServerResponse, exchange: Exchange, path: string, shape: (json: unknown) => unknown) => {
    let answer: Awaited<ReturnType<UpstreamCaller['json']>>;
    try {
      answer = await caller.json(path);
    } catch (error) {
      exchange.outcome = 'upstream_error';
      if (error instanceof OutboundProxyFailure) sendError(res, 502, error.message, 'relay_error', error.code);
      else sendError(res, 502, 'The relay could not reach the upstream API.', 'relay_error', 'upstream_unreachable');
      return;
    }
    const { status, headers, json } = answer;
    exchange.requestId = headers['x-request-id'] as string | undefined;
    const out = clientResponseHeaders(headers);
    delete out['content-length'];
    delete out['content-type'];
    delete out['content-encoding'];
    sendJson(res, status, status === 200 ? shape(json) : json, out as Record<string, string>);
  };

  return {
    async handle(exchange) {
      const { req, res } = exchange;
      const path = pathOnly(req.url ?? '');
      if (req.method === 'GET' && path === '/v1/models') {
        await answerFromUpstream(res, exchange, path, (json) => ({ ...(json as object), data: filterModelList(policy, (json as { data?: ModelEntry[] }).data ?? []) }));
        return;
      }
      const single = /^\/v1\/models\/([^/]+)$/.exec(path);
      if (single) {
        const name = decodedName(single[1]!);
        const target = name === undefined ? undefined : resolveModel(policy, name);
        if (name === undefined || target === undefined) {
          const shown = (name ?? single[1]!).slice(0, 100);
          sendError(res, 404, `The model \`${shown}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
        } else if (req.method === 'GET') {
          await answerFromUpstream(res, exchange, `/v1/models/${encodeURIComponent(target)}`, (json) => ({ ...(json as object), id: name }));
        } else {
          forward(exchange);
        }
        return;
      }
      if (!hasBody(req) || isMultipart(req) || req.method === 'GET' || req.method === 'HEAD') {
        forward(exchange);
        return;
      }
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'identity') {
        const message = 'This relay checks the model of each request and cannot read compressed request bodies: send it uncompressed.';
        sendError(res, 415, message, 'invalid_request_error', 'unsupported_content_encoding');
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(req);
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        sendError(res, 413, `JSON request bodies are limited to ${MAX_JSON_BODY / 1024 / 1024} MB on this relay.`, 'invalid_request_error', 'request_too_large');
        return;
      }
      // Counted here for a refusal; the forwarder counts again what it sends.
      exchange.bytesIn = body.length;
      let parsed: unknown;
      try {
        // An empty body has no model to check.
        parsed = body.length === 0 ? undefined : JSON.parse(STRICT_UTF8.decode(body));
      } catch {
        // Whatever the relay cannot read, the upstream might: refused, never forwarded unchecked.
        const message = 'This relay checks the model of each request and cannot read this body as JSON: send UTF-8 JSON without a byte order mark.';
        sendError(res, 400, message, 'invalid_request_error', 'invalid_json');
        return;
      }
      const model = (parsed as { model?: unknown } | null | undefined)?.model;
      if (model !== undefined && typeof model !== 'string') {
        sendError(res, 400, '`model` must be a string.', 'invalid_request_error', 'invalid_model');
        return;
      }
      if (model !== undefined) {
        const target = resolveModel(policy, model);
        if (target === undefined) {
          // OpenAI answers 403 model_not_found when a project may not use a model.
          const message = `The model \`${model.slice(0, 100)}\` is not available on this relay. Available: ${[...policy.names.keys()].join(', ')}.`;
          sendError(res, 403, message, 'invalid_request_error', 'model_not_found');
          return;
        }
        if (target !== model) body = Buffer.from(JSON.stringify({ ...(parsed as object), model: target }));
      }
      exchange.bytesIn = 0;
      forward(exchange, body);
    },
  };
}
