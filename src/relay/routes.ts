// The relay's routes, tried in order: the first whose `match` gives a target answers. A route
// says which API's shape its refusals take and whether it spends the key (then server.ts admits
// the caller first: relay token, then limits).
import type { IncomingMessage } from 'node:http';
import type { Access } from './access/access.js';
import { METRICS_PATH, serveMetrics } from './access/metrics.js';
import type { AnthropicApi } from './anthropic/api.js';
import { anthropicErrors } from './anthropic/errors.js';
import type { RelayConfig } from './config.js';
import type { Exchange } from './exchange.js';
import type { ModelGate } from './models.js';
import { ollamaErrors, type OllamaApi } from './ollama/api.js';
import { openaiErrors, sendError, sendJson, type ApiErrors } from './openai-error.js';
import { isForwardable, pathOnly, stripPrefix } from './paths.js';
import type { Forwarder } from './proxy.js';
import { RELAY_VERSION } from '../shared/version.js';

export interface Route {
  /** What it serves, for people reading the table and the failure log. */
  readonly name: string;
  /** The target under this route's mount point, or undefined when the route does not serve the request. */
  match(exchange: Exchange): string | undefined;
  /** Spends the key: the caller needs a relay token and is held to its limits before `handle`. */
  readonly admits: boolean;
  /** How this route's API says no (401, 429, 500). */
  readonly errors: ApiErrors;
  /** Answers; `exchange.target` is what `match` gave. A rejected promise is answered with `errors.failed`. */
  handle(exchange: Exchange): void | Promise<void>;
  /** Left out of RELAY_DUMP: probes (Docker's health check every 10 s, Prometheus' scrapes) would bury the clients' exchanges. */
  readonly probe?: true;
}

export interface RouteParts {
  config: RelayConfig;
  access: Access;
  forwarder: Forwarder;
  modelGate: ModelGate | undefined;
  ollama: OllamaApi | undefined;
  anthropic: AnthropicApi | undefined;
}

function isRead(req: IncomingMessage): boolean {
  return req.method === 'GET' || req.method === 'HEAD';
}

/** The table, in the order it is tried; a route whose feature is off is left out. */
export function relayRoutes(parts: RouteParts): Route[] {
  const { config, access, forwarder, modelGate, ollama, anthropic } = parts;
  const prefix = config.pathPrefix;
  // What may be forwarded: a path under <prefix>/v1/, without the prefix (the forwarder sends req.url).
  const apiTarget = (exchange: Exchange) => {
    const target = stripPrefix(exchange.url, prefix);
    return target !== undefined && isForwardable(target) ? target : undefined;
  };
  // RELAY_MODELS set: the model gate reads the body and forwards what it allows.
  const forwardOpenAI = (exchange: Exchange) => {
    exchange.req.url = exchange.target;
    return modelGate ? modelGate.handle(exchange) : forwarder.forward(exchange);
  };

  const metrics: Route = {
    name: 'GET /metrics',
    match: (exchange) => (isRead(exchange.req) && pathOnly(exchange.url) === METRICS_PATH ? METRICS_PATH : undefined),
    admits: false,
    errors: openaiErrors,
    handle: (exchange) => serveMetrics(exchange.req, exchange.res, access.metrics, config.access.metricsToken),
    probe: true,
  };
  const health: Route = {
    name: 'GET / and /health',
    match(exchange) {
      const path = pathOnly(exchange.url);
      return isRead(exchange.req) && (path === '/' || path === '/health') ? path : undefined;
    },
    admits: false,
    errors: openaiErrors,
    handle: (exchange) => sendJson(exchange.res, 200, { status: 'ok', version: RELAY_VERSION }),
    probe: true,
  };
  // Ollama clients cannot send a token: the secret path stands in for it (RELAY_OLLAMA_PATH).
  const ollamaApi: Route | undefined = ollama && {
    name: 'the Ollama API under its secret path',
    match(exchange) {
      const rest = ollama.match(exchange.url);
      if (rest !== undefined) exchange.logPath = ollama.loggedPath(exchange.url, rest);
      return rest;
    },
    admits: false,
    errors: ollamaErrors,
    handle(exchange) {
      const rest = exchange.target;
      // Ollama's own OpenAI-compatible API, which Copilot's Ollama provider chats through.
      if (rest.startsWith('/v1/') && isForwardable(rest)) return forwardOpenAI(exchange);
      return ollama.handle(exchange);
    },
  };
  // RELAY_ANTHROPIC: the Anthropic Messages API, admitted like any other, refused in its shape.
  const anthropicApi: Route | undefined = anthropic && {
    name: 'the Anthropic API under <prefix>/v1/',
    match(exchange) {
      const target = apiTarget(exchange);
      return target !== undefined && anthropic.claims(exchange.req, target) ? target : undefined;
    },
    admits: true,
    errors: anthropicErrors,
    handle: (exchange) => anthropic.handle(exchange),
  };
  const openaiApi: Route = { name: 'the OpenAI API under <prefix>/v1/', match: apiTarget, admits: true, errors: openaiErrors, handle: forwardOpenAI };
  const notFound: Route = {
    name: 'anything else',
    match: (exchange) => exchange.url,
    admits: false,
    errors: openaiErrors,
    handle(exchange) {
      const { req, res } = exchange;
      const message = `No route for ${req.method} ${pathOnly(exchange.url).slice(0, 200)}: the relay serves the OpenAI API under ${prefix}/v1/ and /health.`;
      sendError(res, 404, message, 'invalid_request_error', 'not_found');
    },
  };
  return [metrics, health, ollamaApi, anthropicApi, openaiApi, notFound].filter((route) => route !== undefined);
}
