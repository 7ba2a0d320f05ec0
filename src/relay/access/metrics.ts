// GET /metrics in Prometheus text format. Labels are bounded: token names come from the operator's
// tokens file (never a client address or key), models are capped at MAX_MODELS.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { bearerToken } from '../auth.js';
import { sendError } from '../openai-error.js';
import type { UsageObservation } from './usage-tap.js';

export type UpstreamErrorKind = 'unreachable' | 'timeout' | 'interrupted';

export interface RelayMetrics {
  /** Once per request, when its response has ended (or was cut). `status` 499: the client went away. */
  recordRequest(sample: { token: string; status: number; durationMs: number; ttfbMs: number | undefined }): void;
  /** An SSE response started; call the returned function (once) when it ends. */
  streamOpened(): () => void;
  recordUpstreamError(kind: UpstreamErrorKind): void;
  recordUsage(token: string, observation: UsageObservation): void;
  recordRateLimited(token: string, limit: 'rpm' | 'concurrency'): void;
  recordLimiterError(): void;
  render(): Promise<string>;
  readonly contentType: string;
}

const MAX_MODELS = 200;

function statusClass(status: number): string {
  return status === 499 ? 'client_closed' : `${Math.floor(status / 100)}xx`;
}

/** One prom-client registry: the relay's metrics and the process metrics (CPU, memory, event loop, GC). */
export function createRelayMetrics(options: { processMetrics?: boolean } = {}): RelayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: 'relay_requests_total',
    help: 'Requests answered, by token name and status class.',
    labelNames: ['token', 'status_class'],
    registers,
  });
  const duration = new Histogram({
    name: 'relay_request_duration_seconds',
    help: 'Request start to response end (streams included), by status class.',
    labelNames: ['status_class'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers,
  });
  const ttfb = new Histogram({
    name: 'relay_time_to_first_byte_seconds',
    help: 'Request start to the first response body byte from the upstream.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const streams = new Gauge({ name: 'relay_streams_in_flight', help: 'Server-sent event streams open now.', registers });
  const upstreamErrors = new Counter({
    name: 'relay_upstream_errors_total',
    help: 'Upstream failures: unreachable (502), timeout (504), interrupted (cut mid-body).',
    labelNames: ['kind'],
    registers,
  });
  const tokens = new Counter({
    name: 'relay_usage_tokens_total',
    help: 'Tokens the upstream reported, by token name, model and kind (prompt or completion).',
    labelNames: ['token', 'model', 'kind'],
    registers,
  });
  const notReported = new Counter({
    name: 'relay_usage_not_reported_total',
    help: 'Successful responses that reported no usage (streams without stream_options.include_usage).',
    labelNames: ['token', 'model'],
    registers,
  });
  const bytes = new Counter({
    name: 'relay_response_bytes_total',
    help: 'Response body bytes from the upstream, by token name.',
    labelNames: ['token'],
    registers,
  });
  const limited = new Counter({
    name: 'relay_rate_limited_total',
    help: "Requests refused with 429 by the relay's own limits.",
    labelNames: ['token', 'limit'],
    registers,
  });
  const limiterErrors = new Counter({ name: 'relay_limiter_errors_total', help: 'Limiter store (Redis) failures; the request was let through.', registers });

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'relay_' });

  const models = new Set<string>();
  const modelLabel = (model: string | undefined) => {
    if (model === undefined || model === '') return 'unknown';
    if (models.has(model)) return model;
    if (models.size >= MAX_MODELS) return 'other';
    models.add(model);
    return model;
  };

  return {
    contentType: registry.contentType,
    recordRequest({ token, status, durationMs, ttfbMs }) {
      const cls = statusClass(status);
      requests.inc({ token, status_class: cls });
      duration.observe({ status_class: cls }, durationMs / 1000);
      if (ttfbMs !== undefined) ttfb.observe(ttfbMs / 1000);
    },
    streamOpened() {
      streams.inc();
      let open = true;
      return () => {
        if (!open) return;
        open = false;
        streams.dec();
      };
    },
    recordUpstreamError: (kind) => upstreamErrors.inc({ kind }),
    recordUsage(token, observation) {
      bytes.inc({ token }, observation.bytes);
      const usage = observation.usage;
      if (usage === undefined) return;
      const model = modelLabel(observation.model);
      if (usage === 'not_reported') {
        notReported.inc({ token, model });
        return;
      }
      tokens.inc({ token, model, kind: 'prompt' }, usage.prompt);
      tokens.inc({ token, model, kind: 'completion' }, usage.completion);
    },
    recordRateLimited: (token, limit) => limited.inc({ token, limit }),
    recordLimiterError: () => limiterErrors.inc(),
    render: () => registry.metrics(),
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * Who may read /metrics: with RELAY_METRICS_TOKEN, whoever sends it as a bearer token; without,
 * only a client on loopback that did not come through a proxy (nginx sets X-Real-IP, and in Docker
 * even local clients arrive from the bridge, not loopback).
 */
export function metricsAccess(req: Pick<IncomingMessage, 'headers' | 'socket'>, metricsToken: string | undefined): 'allow' | 'unauthorized' | 'forbidden' {
  if (metricsToken !== undefined) {
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined) return 'unauthorized';
    const digest = (value: string) => createHash('sha256').update(value).digest();
    return timingSafeEqual(digest(presented), digest(metricsToken)) ? 'allow' : 'unauthorized';
  }
  const proxied = req.headers['x-real-ip'] !== undefined || req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
  return !proxied && LOOPBACK.test(req.socket.remoteAddress ?? '') ? 'allow' : 'forbidden';
}

export const METRICS_PATH = '/metrics';

/** Answers GET /metrics (server.ts routes it here before the API's auth). */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: RelayMetrics, metricsToken: string | undefined): Promise<void> {
  const access = metricsAccess(req, metricsToken);
  if (access === 'unauthorized') {
    sendError(res, 401, 'Missing or invalid metrics token: send "Authorization: Bearer <RELAY_METRICS_TOKEN>".', 'invalid_request_error', 'invalid_api_key');
    return;
  }
  if (access === 'forbidden') {
    sendError(
      res,
      403,
      '/metrics is served to loopback clients only; set RELAY_METRICS_TOKEN to scrape it from elsewhere.',
      'invalid_request_error',
      'forbidden',
    );
    return;
  }
  const text = await metrics.render();
  res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}
