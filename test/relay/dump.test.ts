// RELAY_DUMP: each exchange as one redacted JSON line in the relay's log. Sentinel secrets of every
// kind, sent in every place a client or an upstream can put them, never appear in any line.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRelayToken } from '../../src/shared/token.js';
import { MODELS, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';
import { tokensFileWith } from '../support/tokens-file.js';
import { hasSystemComponent } from '../support/system-component.js';
import { startTinyproxy, TINYPROXY_PACKAGE, type Tinyproxy } from '../support/tinyproxy.js';

const KEY = `sk-SENTINEL-KEY-${randomBytes(8).toString('hex')}`;
const TOKEN = `SENTINEL-TOKEN-${randomBytes(8).toString('hex')}`;
// A named token from the tokens file, known to the relay only by its hash.
const NAMED = generateRelayToken();
const OLLAMA_SECRET = `ollama-${randomBytes(16).toString('hex')}`;
const PROXY_USER = `proxyuser${randomBytes(4).toString('hex')}`;
const PROXY_PASSWORD = `proxypass${randomBytes(8).toString('hex')}`;
const METRICS_TOKEN = `SENTINEL-METRICS-${randomBytes(8).toString('hex')}`;
// Secrets the relay does not know, recognised by where they are: a header's, a field's or a parameter's name, or "Bearer".
const COOKIE = `SENTINEL-COOKIE-${randomBytes(8).toString('hex')}`;
const FIELD_SECRET = `SENTINEL-FIELD-${randomBytes(8).toString('hex')}`;
const QUERY_SECRET = `SENTINEL-QUERY-${randomBytes(8).toString('hex')}`;
const BEARER_SECRET = `SENTINEL-BEARER-${randomBytes(8).toString('hex')}`;
const CLIENT_KEY = `sk-proj-${randomBytes(16).toString('hex')}`;
const SENTINELS = {
  KEY,
  TOKEN,
  NAMED,
  OLLAMA_SECRET,
  PROXY_USER,
  PROXY_PASSWORD,
  METRICS_TOKEN,
  COOKIE,
  FIELD_SECRET,
  QUERY_SECRET,
  BEARER_SECRET,
  CLIENT_KEY,
};

/** Every known secret in one string, as a client might paste them. */
const ALL_KNOWN =
  `key ${KEY} token ${TOKEN} named ${NAMED} ollama ${OLLAMA_SECRET} proxy ${PROXY_USER}:${PROXY_PASSWORD} ` +
  `metrics ${METRICS_TOKEN} client ${CLIENT_KEY} Bearer ${BEARER_SECRET}`;
const CAP = 8192;

const hasTinyproxy = hasSystemComponent('tinyproxy', TINYPROXY_PACKAGE);

describe.skipIf(!hasTinyproxy)('RELAY_DUMP=bodies', () => {
  let upstream: FakeOpenAI;
  let proxy: Tinyproxy;
  let relay: RelayProcess;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    proxy = await startTinyproxy({ basicAuth: { user: PROXY_USER, password: PROXY_PASSWORD } });
    relay = await startRelayProcess({
      env: {
        OPENAI_API_KEY: KEY,
        RELAY_TOKEN: TOKEN,
        OPENAI_BASE_URL: upstream.url,
        RELAY_TOKENS_FILE: await tokensFileWith({ alice: NAMED }),
        RELAY_OLLAMA_PATH: `/${OLLAMA_SECRET}`,
        RELAY_METRICS_TOKEN: METRICS_TOKEN,
        HTTP_PROXY: `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`,
        RELAY_DUMP: 'bodies',
        RELAY_DUMP_MAX_BODY: String(CAP),
      },
    });
  });

  afterAll(async () => {
    await relay?.stop();
    await proxy?.stop();
    await upstream?.close();
  });

  const dumps = () => relay.logLines().filter((line) => line.msg === 'dump');
  /** The dump line of the next exchange the relay finishes. */
  const dumpOf = async (call: () => Promise<unknown>) => {
    const before = dumps().length;
    await call();
    await eventually(() => dumps().length > before);
    return dumps()[before] as Record<string, any>;
  };
  const chat = (body: unknown, headers: Record<string, string> = {}, query = '') =>
    fetch(`${relay.url}/v1/chat/completions${query}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }).then((r) => r.text());

  it('warns at start that the dump is on', () => {
    const warning = relay.logLines().find((line) => line.level === 'warn' && String(line.msg).startsWith('RELAY_DUMP=bodies'));
    expect(warning?.msg).toContain(`bodies up to ${CAP} bytes`);
    expect(warning?.msg).toContain('RELAY_DUMP=off');
  });

  it('writes one line per exchange: method, path, status, headers, and both bodies parsed', async () => {
    const dump = await dumpOf(() => chat({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] }, { 'x-client': 'debug-me' }));
    expect(dump).toMatchObject({ level: 'info', method: 'POST', path: '/v1/chat/completions', status: 200, token: 'default', outcome: 'ok' });
    expect(dump.request.headers).toMatchObject({ 'x-client': 'debug-me', 'content-type': 'application/json', authorization: 'Bearer [redacted]' });
    expect(dump.request.body).toEqual({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
    expect(dump.request.body_bytes).toBe(JSON.stringify(dump.request.body).length);
    expect(dump.response.headers['content-type']).toBe('application/json');
    expect(dump.response.body.choices[0].message.content).toBe('Hello from the fake upstream.');
    // The request line is still there, and stays apart from the dump.
    expect(
      relay
        .logLines()
        .filter((line) => line.msg === 'request')
        .at(-1),
    ).toMatchObject({ path: '/v1/chat/completions', status: 200 });
  });

  it('records an event stream as its list of events', async () => {
    const dump = await dumpOf(() => chat({ model: 'gpt-fake', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    expect(dump.response.headers['content-type']).toContain('text/event-stream');
    expect(dump.response.events.at(-1)).toBe('[DONE]');
    const text = dump.response.events
      .slice(0, -1)
      .map((event: any) => event.choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe('part0 part1 part2 part3 part4 ');
  });

  it('cuts a body at the cap and says how many bytes it dropped', async () => {
    const content = 'x'.repeat(100_000);
    const dump = await dumpOf(() => chat({ model: 'gpt-fake', messages: [{ role: 'user', content }] }));
    const sent = JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content }] }).length;
    expect(dump.request.body_bytes).toBe(sent);
    expect(dump.request.dropped_bytes).toBe(sent - CAP);
    expect(dump.request.note).toBe(`cut at ${CAP} bytes: ${sent - CAP} more bytes not kept`);
    expect(typeof dump.request.body).toBe('string');
    expect(dump.request.body.length).toBeLessThanOrEqual(CAP);
    // The answer was whole and is shown whole.
    expect(dump.response.dropped_bytes).toBeUndefined();
  });

  it('leaves probes out: health checks and metrics scrapes', async () => {
    const before = dumps().length;
    expect((await fetch(`${relay.url}/health`)).status).toBe(200);
    expect((await fetch(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    await dumpOf(() => fetch(`${relay.url}/v1/models`, { headers: auth }).then((r) => r.text()));
    expect(
      dumps()
        .slice(before)
        .map((dump) => dump.path),
    ).toEqual(['/v1/models']);
  });

  describe('never shows a secret', () => {
    it('in request headers, whatever their name', async () => {
      const dump = await dumpOf(() =>
        chat(
          { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] },
          {
            'api-key': KEY,
            'x-api-key': NAMED,
            'proxy-authorization': `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`,
            cookie: `session=${COOKIE}`,
            'x-custom': `prefix ${TOKEN} ${OLLAMA_SECRET} ${PROXY_PASSWORD} suffix`,
            'x-forwarded-auth': `Bearer ${BEARER_SECRET}`,
            'x-metrics': METRICS_TOKEN,
          },
        ),
      );
      expect(dump.request.headers).toMatchObject({
        'api-key': '[redacted]',
        'x-api-key': '[redacted]',
        'proxy-authorization': 'Basic [redacted]',
        cookie: '[redacted]',
        'x-custom': 'prefix [redacted] [redacted] [redacted] suffix',
        'x-forwarded-auth': 'Bearer [redacted]',
        'x-metrics': '[redacted]',
      });
    });

    it('in the path and query', async () => {
      const dump = await dumpOf(() =>
        fetch(`${relay.url}/v1/some/thing?api_key=${QUERY_SECRET}&t=${TOKEN}&n=${NAMED}&keep=1`, { headers: auth }).then((r) => r.text()),
      );
      expect(dump.path).toBe('/v1/some/thing?api_key=[redacted]&t=[redacted]&n=[redacted]&keep=1');
      // The fake upstream echoes the URL it was sent in its answer.
      expect(dump.response.body.echo.url).toBe('/v1/some/thing?api_key=[redacted]&t=[redacted]&n=[redacted]&keep=1');
    });

    it('in JSON body fields, by their name or their value', async () => {
      const dump = await dumpOf(() =>
        chat({
          model: MODELS.echo,
          api_key: FIELD_SECRET,
          metadata: { Authorization: `Basic ${FIELD_SECRET}`, note: ALL_KNOWN },
          messages: [{ role: 'user', content: ALL_KNOWN }],
        }),
      );
      expect(dump.request.body.api_key).toBe('[redacted]');
      expect(dump.request.body.metadata.Authorization).toBe('Basic [redacted]');
      expect(dump.request.body.messages[0].content).toBe(
        'key [redacted] token [redacted] named [redacted] ollama [redacted] proxy [redacted] metrics [redacted] client [redacted] Bearer [redacted]',
      );
      // The echo model answers the message back.
      expect(dump.response.body.choices[0].message.content).toBe(dump.request.body.messages[0].content);
    });

    it('in an SSE event', async () => {
      const dump = await dumpOf(() => chat({ model: MODELS.echo, stream: true, messages: [{ role: 'user', content: ALL_KNOWN }] }));
      expect(dump.response.events[0].choices[0].delta.content).toContain('token [redacted] named [redacted]');
    });

    it('in an upstream error that echoes the key', async () => {
      const dump = await dumpOf(() => chat({ model: MODELS.keyEcho, messages: [{ role: 'user', content: 'hi' }] }));
      expect(dump.status).toBe(401);
      expect(dump.response.body.error.message).toBe('Incorrect API key provided: Bearer [redacted]');
    });

    it('in the Ollama secret path', async () => {
      const dump = await dumpOf(() => fetch(`${relay.url}/${OLLAMA_SECRET}/api/tags`).then((r) => r.text()));
      expect(dump.path).toBe('/[redacted]/api/tags');
    });

    it('in a refused request (an unknown Bearer)', async () => {
      const dump = await dumpOf(() =>
        fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${BEARER_SECRET}`, cookie: COOKIE } }).then((r) => r.text()),
      );
      expect(dump.status).toBe(401);
      expect(dump.request.headers).toMatchObject({ authorization: 'Bearer [redacted]', cookie: '[redacted]' });
      expect(dump.response.body.error.code).toBe('invalid_api_key');
    });

    it('not even the first half of one, cut at the cap', async () => {
      // The key starts 14 bytes before the cap: {"model":"gpt-fake","padding":"ppp...","note":"key sk-SENTINEL-KE|Y-...
      const head = JSON.stringify({ model: 'gpt-fake', padding: '', note: 'key ' }).length - 2;
      const body = { model: 'gpt-fake', padding: 'p'.repeat(CAP - 14 - head), note: ALL_KNOWN, messages: [{ role: 'user', content: 'hi' }] };
      const dump = await dumpOf(() => chat(body));
      expect(dump.request.dropped_bytes).toBeGreaterThan(0);
      expect(dump.request.body).toMatch(/"note":"key $/);
    });

    it('in any line the relay wrote', () => {
      const output = relay.output();
      expect(dumps().length).toBeGreaterThanOrEqual(10);
      for (const [name, secret] of Object.entries(SENTINELS)) expect(output.includes(secret), name).toBe(false);
      // Nor a first part of one, cut at the cap.
      for (const [name, secret] of Object.entries(SENTINELS)) expect(output.includes(secret.slice(0, 12)), name).toBe(false);
    });
  });
});
