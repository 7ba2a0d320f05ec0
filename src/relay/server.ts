// The relay's HTTP server: health, auth, forwarding, one log line per request, graceful stop.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RelayConfig } from './config.js';
import { tokenFingerprint } from '../token.js';
import { createAccess } from './access/access.js';
import type { Admitted } from './access/access-mode.js';
import type { Acquired, Refused } from './access/limiter.js';
import { anthropicRefusals, createAnthropicApi } from './anthropic/api.js';
import { METRICS_PATH, serveMetrics } from './access/metrics.js';
import { sendRateLimited } from './access/rate-limit-response.js';
import type { Authenticator, TokenSet } from './auth.js';
import { corsResponseHeaders, isAllowedOrigin, isPreflight, preflightHeaders } from './cors.js';
import type { UpstreamCredentials } from './headers.js';
import type { Logger } from './log.js';
import { createModelGate } from './models.js';
import { createOllamaApi } from './ollama/api.js';
import { sendError, sendJson } from './openai-error.js';
import { hasBody } from './json-body.js';
import { isForwardable, pathOnly, stripPrefix } from './paths.js';
import { createForwarder, createUpstreamAgent, type Exchange } from './proxy.js';
import { createRealtimeProxy } from './realtime.js';
import { createUpstreamCaller } from './upstream-call.js';
import { RELAY_VERSION } from './version.js';

export interface RunningRelay {
  readonly port: number;
  readonly host: string;
  /** Replaces the accepted RELAY_TOKEN (and a rotation's previous one); requests already past the check are not affected. */
  setTokens(tokens: TokenSet): void;
  /** Re-reads the named tokens file (RELAY_TOKENS_FILE). */
  reloadTokensFile(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs: number): Promise<void>;
}

function isHealthCheck(req: IncomingMessage): boolean {
  const path = pathOnly(req.url ?? '');
  return (req.method === 'GET' || req.method === 'HEAD') && (path === '/' || path === '/health');
}

export async function startRelayServer(config: RelayConfig, logger: Logger): Promise<RunningRelay> {
  const access = await createAccess(config.access, { envTokens: config.tokens }, logger);
  // Realtime sessions are let in by the same tokens as HTTP requests.
  const auth: Authenticator = {
    check: (authorization) => access.registry.identify(authorization) !== undefined,
    update: (tokens) => access.registry.setEnvTokens(tokens),
    isOpen: () => access.registry.isOpen(),
  };
  const credentials: UpstreamCredentials = {
    apiKey: config.apiKey,
    organization: config.openaiOrganization,
    project: config.openaiProject,
    carriesToken: (value) => access.registry.carriesToken(value),
  };
  const agent = createUpstreamAgent(config.timeouts, config.upstream.proxy);
  const forwarder = createForwarder(config.upstream, credentials, agent, { streamOpened: () => access.metrics.streamOpened() });
  const caller = createUpstreamCaller(config.upstream, credentials, agent);
  const modelGate = config.models && createModelGate(config.models, caller, forwarder.forward);
  const ollama = config.ollamaPath === undefined ? undefined : createOllamaApi(config.ollamaPath, caller, config.models);
  const anthropic = config.anthropic && createAnthropicApi(caller, { models: config.anthropic, allowed: config.models });
  // The Ollama path is a secret: it never reaches the log.
  const loggedPath = (target: string, ollamaRest = ollama?.match(target)) => (ollama ? ollama.loggedPath(target, ollamaRest) : pathOnly(target));
  const { cors, pathPrefix } = config;
  const failed = (res: ServerResponse, error: unknown) => {
    logger.error('unexpected relay failure', { error: String(error) });
    sendError(res, 500, 'The relay failed unexpectedly.', 'relay_error', 'internal_error');
  };
  const forward = (req: IncomingMessage, res: ServerResponse, exchange: Exchange, startedAt: number) => {
    if (modelGate) {
      modelGate.handle(req, res, exchange, startedAt).catch((error: unknown) => failed(res, error));
      return;
    }
    try {
      forwarder.forward(req, res, exchange, startedAt);
    } catch (error) {
      failed(res, error);
    }
  };
  let inFlight = 0;
  let stopping = false;
  let drained: (() => void) | undefined;
  const finished = () => {
    inFlight--;
    if (stopping) {
      server.closeIdleConnections();
      if (inFlight === 0) drained?.();
    }
  };
  const realtime = createRealtimeProxy({
    upstream: config.upstream,
    credentials,
    timeouts: config.timeouts,
    auth,
    pathPrefix,
    cors,
    models: config.models,
    logger,
    loggedPath,
    onOpen: () => inFlight++,
    onClose: finished,
  });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = performance.now();
    const exchange: Exchange = { status: 0, bytesIn: 0, bytesOut: 0, ttfbMs: undefined, requestId: undefined, outcome: 'ok' };
    const target = req.url ?? '';
    const ollamaRest = ollama?.match(target);
    const logPath = loggedPath(target, ollamaRest);
    let admitted: Admitted | undefined;
    let held: Acquired | undefined;
    inFlight++;
    // The upstream call hears of the close first; the line is logged once this 'close' event has
    // reached every other listener (the Ollama emulation's), so each has recorded the outcome.
    res.once('close', () => {
      exchange.upstreamCall?.clientClosed();
      process.nextTick(() => {
        held?.release();
        const status = res.headersSent ? res.statusCode : 499;
        const durationMs = performance.now() - startedAt;
        access.metrics.recordRequest({ token: admitted?.name ?? 'unauthenticated', status, durationMs, ttfbMs: exchange.ttfbMs });
        if (exchange.outcome === 'upstream_timeout') access.metrics.recordUpstreamError('timeout');
        else if (exchange.outcome === 'upstream_error') access.metrics.recordUpstreamError(exchange.usage ? 'interrupted' : 'unreachable');
        if (admitted && exchange.usage) access.account(admitted, exchange.usage.finish(), { bytesIn: exchange.bytesIn, failed: exchange.outcome !== 'ok' });
        logger.request({
          method: req.method,
          path: logPath,
          token: admitted?.name,
          status,
          outcome: exchange.outcome,
          durationMs: round(durationMs),
          ttfbMs: exchange.ttfbMs === undefined ? undefined : round(exchange.ttfbMs),
          bytesIn: exchange.bytesIn,
          bytesOut: exchange.bytesOut,
          requestId: exchange.requestId,
        });
        finished();
      });
    });
    if (stopping) res.setHeader('connection', 'close');
    if (hasBody(req)) process.nextTick(boundBodyIdle, req, res, config.timeouts.clientBodyMs);

    const origin = req.headers.origin;
    const corsAllowed = cors !== undefined && origin !== undefined && isAllowedOrigin(cors, origin);
    if (cors && isPreflight(req)) {
      // Browsers send preflights without credentials: answered here, never forwarded.
      if (corsAllowed) {
        res.writeHead(204, preflightHeaders(cors, origin!, req.headers['access-control-request-headers'] as string | undefined));
        res.end();
      } else {
        sendError(res, 403, 'This origin is not allowed to call the relay (see RELAY_CORS_ORIGINS).', 'invalid_request_error', 'origin_not_allowed');
      }
      return;
    }
    if (corsAllowed) for (const [name, value] of Object.entries(corsResponseHeaders(cors, origin!))) res.setHeader(name, value!);

    const apiTarget = stripPrefix(target, pathPrefix);
    if ((req.method === 'GET' || req.method === 'HEAD') && pathOnly(target) === METRICS_PATH) {
      serveMetrics(req, res, access.metrics, config.access.metricsToken).catch((error: unknown) => {
        logger.error('metrics failed', { error: String(error) });
        sendError(res, 500, 'The relay failed unexpectedly.', 'relay_error', 'internal_error');
      });
    } else if (isHealthCheck(req)) {
      sendJson(res, 200, { status: 'ok', version: RELAY_VERSION });
    } else if (ollama && ollamaRest !== undefined) {
      if (ollamaRest.startsWith('/v1/') && isForwardable(ollamaRest)) {
        // Ollama's own OpenAI-compatible API, which Copilot's Ollama provider chats through; the
        // secret path stands in for the token.
        req.url = ollamaRest;
        forward(req, res, exchange, startedAt);
      } else {
        ollama.handle(req, res, ollamaRest, exchange).catch((error: unknown) => failed(res, error));
      }
    } else if (apiTarget === undefined || !isForwardable(apiTarget)) {
      sendError(res, 404, `No route for ${req.method} ${pathOnly(target).slice(0, 200)}: the relay serves the OpenAI API under ${pathPrefix}/v1/ and /health.`, 'invalid_request_error', 'not_found');
    } else {
      // Anthropic API requests (RELAY_ANTHROPIC) are admitted like any other, refused in Anthropic's shape.
      const anthropicTarget = anthropic?.claims(req, apiTarget) ? apiTarget : undefined;
      const decision = access.decide(req);
      if (!decision.ok) {
        if (anthropicTarget !== undefined) anthropicRefusals.unauthorized(res, decision.message);
        else sendError(res, 401, decision.message, 'invalid_request_error', 'invalid_api_key');
        return;
      }
      admitted = decision;
      exchange.upstreamAuthorization = decision.upstreamAuthorization;
      const proceed = (slot: Acquired | Refused) => {
        if (!slot.ok) {
          (anthropicTarget === undefined ? sendRateLimited : anthropicRefusals.rateLimited)(res, slot, decision.who, decision.limits[slot.limit]);
          return;
        }
        held = slot;
        if (anthropicTarget !== undefined) {
          anthropic!.handle(req, res, anthropicTarget, exchange).catch((error: unknown) => failed(res, error));
          return;
        }
        // The forwarder sends the path as it is under /v1/; the prefix stays on this side.
        req.url = apiTarget;
        forward(req, res, exchange, startedAt);
      };
      const slot = access.acquire(decision);
      if (!(slot instanceof Promise)) proceed(slot);
      else {
        slot.then(proceed, (error: unknown) => {
          logger.error('limiter failed', { error: String(error) });
          sendError(res, 500, 'The relay failed unexpectedly.', 'relay_error', 'internal_error');
        });
      }
    }
  };

  const server: Server = createServer(
    {
      headersTimeout: config.timeouts.clientHeadersMs,
      // Node's default 300 s request timeout would cut long uploads and long answers.
      requestTimeout: 0,
      // Longer than nginx's upstream keepalive, so the relay never closes a socket nginx is about to reuse.
      keepAliveTimeout: 65_000,
      // How often Node checks the header timeout; its 30 s default would let slow-header clients linger.
      connectionsCheckingInterval: Math.max(250, Math.min(config.timeouts.clientHeadersMs / 4, 30_000)),
      // Only WebSocket upgrades leave the request path (Node >= 24.9); `Upgrade: h2c` stays plain HTTP.
      shouldUpgradeCallback: (req: IncomingMessage) => req.headers.upgrade?.toLowerCase() === 'websocket',
    },
    handle,
  );
  server.on('upgrade', realtime.handleUpgrade);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A second after listening: loading prom-client blocks for tens of milliseconds, which the
  // first requests after a (re)start should not wait for.
  setTimeout(() => access.metrics.startProcessMetrics(), 1000).unref();
  const address = server.address() as AddressInfo;

  if (access.registry.isOpen() && config.access.mode === 'relay') {
    logger.warn('RELAY_TOKEN is not set: this relay is OPEN and anyone who can reach it spends your OpenAI key. Set RELAY_TOKEN (or OPENAI_RELAY_TOKEN) and restart.');
  }
  logger.info('relay listening', { host: address.address, port: address.port, upstream: config.upstream.origin + config.upstream.basePath, proxy: config.upstream.proxy?.label, version: RELAY_VERSION });

  return {
    port: address.port,
    host: address.address,
    reloadTokensFile: () => access.reloadTokens(),
    setTokens(tokens) {
      access.registry.setEnvTokens(tokens);
      logger.info('tokens reloaded', {
        token: tokens.current && tokenFingerprint(tokens.current),
        previous_until: tokens.previous && new Date(tokens.previous.until).toISOString(),
      });
    },
    async shutdown(graceMs) {
      stopping = true;
      logger.info('relay stopping', { in_flight: inFlight, grace_ms: graceMs });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        const finished = new Promise<void>((resolve) => (drained = resolve));
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
        await Promise.race([finished, expired]);
        clearTimeout(timer);
        if (inFlight > 0) logger.warn('grace period over: cutting in-flight requests', { in_flight: inFlight });
      }
      server.closeAllConnections();
      realtime.destroyAll();
      await closed;
      await forwarder.close();
      // Flushes the usage store and lets go of Redis.
      await access.close();
      logger.info('relay stopped');
    },
  };
}

/**
 * A body still arriving once this request's first bytes are parsed gets the socket's idle timer
 * until it ends: a client that stops sending it is answered 408 (or cut) and its socket closed.
 */
function boundBodyIdle(req: IncomingMessage, res: ServerResponse, ms: number): void {
  if (req.complete || ms === 0) return;
  req.setTimeout(ms, () => {
    if (res.headersSent) res.destroy();
    else {
      sendError(res, 408, 'The request body stopped arriving (see RELAY_CLIENT_BODY_TIMEOUT).', 'invalid_request_error', 'request_timeout');
      res.once('finish', () => req.socket.destroy());
    }
  });
  req.once('end', () => req.socket.setTimeout(0));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
