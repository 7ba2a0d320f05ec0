// Every exchange, whatever route answers it, ends in exactly one request log line and one count in
// relay_requests_total (finishExchange in src/relay/exchange.ts): answered, refused, streamed,
// uploaded, translated, failed upstream or abandoned by the client. A Realtime session ends there
// too, in one `realtime` line instead.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MODELS } from '../support/fake-openai.js';
import { freePort } from '../support/free-port.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';

const OLLAMA = `/ollama-${randomBytes(12).toString('hex')}`;
const ORIGIN = 'https://app.example';

type Line = Record<string, unknown>;
const requestLines = (relay: RelayProcess): Line[] => relay.logLines().filter((line) => line.msg === 'request');

/** Sends one request, reads its answer whole, and returns its status and the one line it was logged with. */
async function exchange(relay: RelayProcess, path: string, init: RequestInit = {}): Promise<{ status: number; body: string; line: Line }> {
  const before = requestLines(relay).length;
  const response = await fetch(`${relay.url}${path}`, init);
  const body = await response.text();
  await eventually(() => requestLines(relay).length > before);
  // Another line would be a second finish of the same exchange.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const lines = requestLines(relay).slice(before);
  expect(lines).toHaveLength(1);
  return { status: response.status, body, line: lines[0]! };
}

const json = (token: string | undefined, body: unknown, extra: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
  body: JSON.stringify(body),
});

/** relay_requests_total summed: every exchange finished before this GET /metrics (itself logged once too). */
async function requestsCounted(relay: RelayProcess): Promise<number> {
  const { body: text } = await exchange(relay, '/metrics');
  const families = parsePrometheusTextFormat(text) as Array<{ name: string; metrics: Array<{ value: string }> }>;
  const family = families.find((entry) => entry.name === 'relay_requests_total');
  return (family?.metrics ?? []).reduce((sum, metric) => sum + Number(metric.value), 0);
}

describe('every exchange is finished once', () => {
  let stack: RelayStack;

  beforeAll(async () => {
    stack = await startRelayStack({ RELAY_OLLAMA_PATH: OLLAMA, RELAY_ANTHROPIC: 'on', RELAY_CORS_ORIGINS: ORIGIN });
  });
  afterAll(() => stack?.stop());

  it('on each route, answered or refused, with the status the client got', async () => {
    const { relay, token } = stack;
    const preflight = { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } };
    const seen = [
      await exchange(relay, '/v1/chat/completions', preflight),
      await exchange(relay, '/v1/chat/completions', { ...preflight, headers: { ...preflight.headers, origin: 'https://evil.example' } }),
      await exchange(relay, '/health'),
      await exchange(relay, '/nothing-here'),
      await exchange(relay, '/v1/chat/completions', json(undefined, { model: 'gpt-4o-mini', messages: [] })),
      await exchange(relay, '/v1/messages', json(undefined, { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [] })),
      await exchange(relay, '/v1/chat/completions', json(token, { model: 'gpt-4o-mini', messages: [] })),
      await exchange(relay, '/v1/chat/completions', json(token, { model: MODELS.paced, stream: true, messages: [] })),
      await exchange(relay, '/v1/chat/completions', json(token, { model: 'status-503', messages: [] })),
      await exchange(relay, '/v1/messages', json(undefined, { model: 'gpt-fake', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': token })),
      await exchange(relay, `${OLLAMA}/api/version`),
    ];
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([randomBytes(256 * 1024)]), 'upload.jsonl');
    seen.push(await exchange(relay, '/v1/files', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form }));

    expect(seen.map(({ status, line }) => [line.status, status])).toEqual(seen.map(({ status }) => [status, status]));
    expect(seen.map(({ status }) => status)).toEqual([204, 403, 200, 404, 401, 401, 200, 200, 503, 200, 200, 200]);
    // The Anthropic route refuses in Anthropic's shape.
    expect(JSON.parse(seen[5]!.body)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const tokens = seen.map(({ line }) => line.token);
    expect(tokens).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, 'default', 'default', 'default', 'default', undefined, 'default']);
    expect(seen[10]!.line.path).toBe('/<ollama>/api/version');
    expect(await requestsCounted(relay)).toBe(requestLines(relay).length - 1);
  });

  it('when the client goes away mid-stream', async () => {
    const { relay, token } = stack;
    const before = requestLines(relay).length;
    const abort = new AbortController();
    const endless = json(token, { model: MODELS.endless, stream: true, messages: [] });
    const response = await fetch(`${relay.url}/v1/chat/completions`, { ...endless, signal: abort.signal });
    await response.body!.getReader().read();
    abort.abort();
    await eventually(() => requestLines(relay).length > before);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requestLines(relay).slice(before)).toMatchObject([{ status: 200, outcome: 'client_closed', token: 'default' }]);
    expect(await requestsCounted(relay)).toBe(requestLines(relay).length - 1);
  });

  it('a Realtime session, opened or refused: one `realtime` line each, no request line, no request count', async () => {
    const { relay, token } = stack;
    const realtimeLines = () => relay.logLines().filter((line) => line.msg === 'realtime');
    const requestsBefore = requestLines(relay).length;
    const url = `ws://127.0.0.1:${relay.port}/v1/realtime?model=gpt-realtime`;
    const opened = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    await once(opened, 'message');
    opened.close();
    const refused = new WebSocket(url, { headers: { authorization: 'Bearer wrong' } });
    refused.on('error', () => {});
    await once(refused, 'unexpected-response');
    refused.terminate();
    await eventually(() => realtimeLines().length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const byStatus = realtimeLines().sort((a, b) => Number(a.status) - Number(b.status));
    expect(byStatus.map(({ status, outcome, auth }) => ({ status, outcome, auth }))).toEqual([
      { status: 101, outcome: expect.stringMatching(/^(ok|client_closed)$/), auth: 'header' },
      { status: 401, outcome: 'refused', auth: 'header' },
    ]);
    expect(requestLines(relay).length).toBe(requestsBefore);
    expect(await requestsCounted(relay)).toBe(requestLines(relay).length - 1);
  });
});

describe('every refused or failed exchange is finished once, in passthrough mode', () => {
  let relay: RelayProcess;

  beforeAll(async () => {
    // Nothing listens upstream: the first call is a 502; the limit of one a minute refuses the rest.
    const deadPort = await freePort();
    relay = await startRelayProcess({
      env: { OPENAI_BASE_URL: `http://127.0.0.1:${deadPort}/v1`, RELAY_MODE: 'passthrough', RELAY_PASSTHROUGH_RPM: '1', RELAY_ANTHROPIC: 'on' },
    });
  });
  afterAll(() => relay?.stop());

  it('502, then 429 in the OpenAI and the Anthropic shape', async () => {
    const key = 'sk-client-own-key';
    const unreachable = await exchange(relay, '/v1/chat/completions', json(key, { model: 'gpt-4o-mini', messages: [] }));
    const limited = await exchange(relay, '/v1/chat/completions', json(key, { model: 'gpt-4o-mini', messages: [] }));
    const message = json(undefined, { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [] }, { 'x-api-key': key });
    const limitedAnthropic = await exchange(relay, '/v1/messages', message);
    expect([unreachable, limited, limitedAnthropic].map(({ status, line }) => [status, line.status, line.outcome])).toEqual([
      [502, 502, 'upstream_error'],
      [429, 429, 'ok'],
      [429, 429, 'ok'],
    ]);
    expect(JSON.parse(limited.body)).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    expect(JSON.parse(limitedAnthropic.body)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(await requestsCounted(relay)).toBe(requestLines(relay).length - 1);
  });
});
