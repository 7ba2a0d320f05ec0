// GET /metrics: Prometheus text that a real Prometheus text parser reads, served only to whom it should be.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayMetrics, metricsAccess, serveMetrics, type RelayMetrics } from '../../src/relay/access/metrics.js';

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }> };

function family(text: string, name: string): Family {
  const found = (parsePrometheusTextFormat(text) as Family[]).find((f) => f.name === name);
  if (!found) throw new Error(`no ${name} in\n${text}`);
  return found;
}

function recordSome(metrics: RelayMetrics): void {
  metrics.recordRequest({ token: 'alice', status: 200, durationMs: 120, ttfbMs: 40 });
  metrics.recordRequest({ token: 'alice', status: 200, durationMs: 3000, ttfbMs: 300 });
  metrics.recordRequest({ token: 'bob', status: 429, durationMs: 1, ttfbMs: undefined });
  metrics.recordRequest({ token: 'bob', status: 499, durationMs: 50, ttfbMs: undefined });
  metrics.recordUsage('alice', { status: 200, stream: false, model: 'gpt-a', usage: { prompt: 11, completion: 7 }, bytes: 500 });
  metrics.recordUsage('alice', { status: 200, stream: true, model: 'gpt-a', usage: 'not_reported', bytes: 900 });
  metrics.recordUpstreamError('timeout');
  metrics.recordRateLimited('bob', 'rpm');
  const closeStream = metrics.streamOpened();
  metrics.streamOpened();
  closeStream();
  closeStream();
}

describe('Prometheus text', () => {
  it('parses, with requests by token and status class, histograms, streams in flight and usage by token', async () => {
    const metrics = createRelayMetrics();
    recordSome(metrics);
    const text = await metrics.render();
    expect(family(text, 'relay_requests_total').metrics).toEqual(
      expect.arrayContaining([
        { labels: { token: 'alice', status_class: '2xx' }, value: '2' },
        { labels: { token: 'bob', status_class: '4xx' }, value: '1' },
        { labels: { token: 'bob', status_class: 'client_closed' }, value: '1' },
      ]),
    );
    const ttfb = family(text, 'relay_time_to_first_byte_seconds');
    expect(ttfb.type).toBe('HISTOGRAM');
    expect(ttfb.metrics[0]).toMatchObject({ count: '2', buckets: expect.objectContaining({ '0.05': '1', '0.5': '2' }) });
    expect(family(text, 'relay_request_duration_seconds').type).toBe('HISTOGRAM');
    expect(family(text, 'relay_streams_in_flight').metrics[0]!.value).toBe('1');
    expect(family(text, 'relay_upstream_errors_total').metrics).toEqual([{ labels: { kind: 'timeout' }, value: '1' }]);
    expect(family(text, 'relay_usage_tokens_total').metrics).toEqual(
      expect.arrayContaining([
        { labels: { token: 'alice', model: 'gpt-a', kind: 'prompt' }, value: '11' },
        { labels: { token: 'alice', model: 'gpt-a', kind: 'completion' }, value: '7' },
      ]),
    );
    expect(family(text, 'relay_usage_not_reported_total').metrics).toEqual([{ labels: { token: 'alice', model: 'gpt-a' }, value: '1' }]);
    expect(family(text, 'relay_rate_limited_total').metrics).toEqual([{ labels: { token: 'bob', limit: 'rpm' }, value: '1' }]);
    expect(family(text, 'relay_process_resident_memory_bytes').type).toBe('GAUGE');
  });

  it('keeps the model label bounded', async () => {
    const metrics = createRelayMetrics({ processMetrics: false });
    for (let i = 0; i < 250; i++) metrics.recordUsage('t', { status: 200, stream: false, model: `m${i}`, usage: { prompt: 1, completion: 1 }, bytes: 1 });
    const models = new Set(family(await metrics.render(), 'relay_usage_tokens_total').metrics.map((m) => m.labels!.model));
    expect(models.size).toBe(201);
    expect(models.has('other')).toBe(true);
  });
});

describe('who may read /metrics', () => {
  const req = (remoteAddress: string, headers: Record<string, string> = {}) => ({ headers, socket: { remoteAddress } }) as never;

  it('with RELAY_METRICS_TOKEN: the bearer of that token, from anywhere', () => {
    expect(metricsAccess(req('203.0.113.9', { authorization: 'Bearer m-secret' }), 'm-secret')).toBe('allow');
    expect(metricsAccess(req('127.0.0.1', { authorization: 'Bearer wrong' }), 'm-secret')).toBe('unauthorized');
    expect(metricsAccess(req('127.0.0.1'), 'm-secret')).toBe('unauthorized');
  });

  it('without: loopback clients only, and not through a proxy that adds X-Real-IP', () => {
    expect(metricsAccess(req('127.0.0.1'), undefined)).toBe('allow');
    expect(metricsAccess(req('::ffff:127.0.0.1'), undefined)).toBe('allow');
    expect(metricsAccess(req('::1'), undefined)).toBe('allow');
    expect(metricsAccess(req('127.0.0.1', { 'x-real-ip': '203.0.113.9' }), undefined)).toBe('forbidden');
    expect(metricsAccess(req('172.17.0.1'), undefined)).toBe('forbidden');
  });
});

describe('serving /metrics over HTTP', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const metrics = createRelayMetrics();
    recordSome(metrics);
    server = createServer((request, response) => void serveMetrics(request, response, metrics, 'm-secret'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers the token holder with parsable text, and others with a 401 in the OpenAI shape', async () => {
    const ok = await fetch(url, { headers: { authorization: 'Bearer m-secret' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(family(await ok.text(), 'relay_requests_total').metrics.length).toBe(3);
    const refused = await fetch(url);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });
});
