// The relay's HTTP server: one exchange per request, through the plain steps below (CORS, the
// route table, admission for routes that spend the key), finished in one place; graceful stop.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RelayConfig } from './config.js';
import { createAccess } from './access/access.js';
import type { Acquired, Refused } from './access/limiter.js';
import { createAnthropicApi } from './anthropic/api.js';
import type { Authenticator } from './auth.js';
import { answeredCors } from './cors.js';
import { createDumper, relaySecrets } from './dump.js';
import { Exchange, finishExchange, RealtimeSession, type Books } from './exchange.js';
import type { UpstreamCredentials } from './headers.js';
import type { Logger } from './log.js';
import { createModelGate } from './models.js';
import { createOllamaApi } from './ollama/api.js';
import { sendError } from './openai-error.js';
import { hasBody } from './json-body.js';
import { pathOnly } from './paths.js';
import { createForwarder, createUpstreamAgent } from './proxy.js';
import { createRealtimeProxy } from './realtime.js';
import { createRedactor } from './redact.js';
import { relayRoutes, type Route } from './routes.js';
import { createUpstreamCaller } from './upstream-call.js';
import { RELAY_VERSION } from '../shared/version.js';

export interface RunningRelay {
  readonly port: number;
  readonly host: string;
  /** Re-reads the tokens file (RELAY_TOKENS_FILE); requests already past the check are not affected. */
  reloadTokensFile(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs: number): Promise<void>;
}

export async function startRelayServer(config: RelayConfig, logger: Logger): Promise<RunningRelay> {
  const access = await createAccess(config.access, { envToken: config.token }, logger);
  // Realtime sessions are let in by the same tokens as HTTP requests.
  const auth: Authenticator = { check: (authorization) => access.registry.identify(authorization) !== undefined };
  const credentials: UpstreamCredentials = {
    apiKey: config.apiKey,
    organization: config.openaiOrganization,
    project: config.openaiProject,
    carriesToken: (value) => access.registry.carriesToken(value),
  };
  const agent = createUpstreamAgent(config.timeouts, config.upstream.proxy);
  const forwarder = createForwarder(config.upstream, credentials, agent, () => access.metrics.streamOpened());
  const caller = createUpstreamCaller(config.upstream, credentials, agent);
  const ollama = config.ollamaPath === undefined ? undefined : createOllamaApi(config.ollamaPath, caller, config.models);
  const routes = relayRoutes({
    config,
    access,
    forwarder,
    modelGate: config.models && createModelGate(config.models, caller, forwarder.forward),
    ollama,
    anthropic: config.anthropic && createAnthropicApi(caller, { models: config.anthropic, allowed: config.models }),
  });
  const books: Books = { logger, access };
  // The Ollama path is a secret: it never reaches the log (the Ollama route logs what is under it).
  const loggedPath = (target: string) => (ollama ? ollama.loggedPath(target, undefined) : pathOnly(target));
  const { cors } = config;
  const dumper = config.dump && createDumper(config.dump, createRedactor(relaySecrets(config, () => access.registry.plainTokens())), logger);

  let inFlight = 0;
  let stopping = false;
  let drained: (() => void) | undefined;
  const realtime = createRealtimeProxy({
    upstream: config.upstream,
    credentials,
    timeouts: config.timeouts,
    auth,
    pathPrefix: config.pathPrefix,
    cors,
    models: config.models,
  });

  // The one 'close' listener per request or Realtime session: the upstream call hears first (and
  // records whether the client left before its answer was complete), then the exchange is finished.
  const closed = (exchange: Exchange | RealtimeSession) => {
    exchange.upstreamCall?.clientClosed();
    finishExchange(exchange, books);
    inFlight--;
    if (stopping) {
      server.closeIdleConnections();
      if (inFlight === 0) drained?.();
    }
  };
  const failed = (exchange: Exchange, route: Route, error: unknown) => {
    logger.error('unexpected relay failure', { route: route.name, error: String(error) });
    route.errors.failed(exchange.res);
  };
  const run = (exchange: Exchange, route: Route) => {
    try {
      route.handle(exchange)?.catch((error: unknown) => failed(exchange, route, error));
    } catch (error) {
      failed(exchange, route, error);
    }
  };
  const proceed = (exchange: Exchange, route: Route, slot: Acquired | Refused) => {
    const admitted = exchange.admitted!;
    if (!slot.ok) return route.errors.rateLimited(exchange.res, slot, admitted.who, admitted.limits[slot.limit]);
    // The limiter answered after the client left and the exchange was finished: nothing holds the slot.
    if (exchange.finished) return slot.release();
    exchange.held = slot;
    run(exchange, route);
  };
  // A route that spends the key: a relay token first (401), then the caller's limits (429).
  const admit = (exchange: Exchange, route: Route) => {
    const decision = access.decide(exchange.req);
    if (!decision.ok) return route.errors.unauthorized(exchange.res, decision.message);
    exchange.admitted = decision;
    access.acquire(decision).then(
      (slot) => proceed(exchange, route, slot),
      (error: unknown) => failed(exchange, route, error),
    );
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const exchange = new Exchange(req, res);
    // Before any route reads the request or writes the answer.
    exchange.dump = dumper?.start(req, res);
    exchange.logPath = loggedPath(exchange.url);
    inFlight++;
    res.once('close', () => closed(exchange));
    if (stopping) res.setHeader('connection', 'close');
    if (hasBody(req)) process.nextTick(boundBodyIdle, req, res, config.timeouts.clientBodyMs);
    if (cors && answeredCors(cors, req, res)) return;
    for (const route of routes) {
      const target = route.match(exchange);
      if (target === undefined) continue;
      exchange.target = target;
      if (route.probe) exchange.dump = undefined;
      if (route.admits) admit(exchange, route);
      else run(exchange, route);
      return;
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
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const session = new RealtimeSession(req, loggedPath(req.url ?? ''));
    inFlight++;
    socket.once('close', () => closed(session));
    realtime.handleUpgrade(session, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  if (access.registry.isOpen() && config.access.mode === 'relay') {
    logger.warn(
      'RELAY_TOKEN is not set: this relay is OPEN and anyone who can reach it spends your OpenAI key. Set RELAY_TOKEN (or OPENAI_RELAY_TOKEN) and restart.',
    );
  }
  const upstream = config.upstream.origin + config.upstream.basePath;
  logger.info('relay listening', { host: address.address, port: address.port, upstream, proxy: config.upstream.proxy?.label, version: RELAY_VERSION });

  return {
    port: address.port,
    host: address.address,
    reloadTokensFile: () => access.reloadTokens(),
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
