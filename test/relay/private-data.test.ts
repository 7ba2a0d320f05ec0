// Nothing private crosses the relay, in either direction: client credentials and relay tokens
// stay on this side, upstream cookies stay on that side, and the Ollama secret never reaches the log.
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRelayToken } from '../../src/shared/token.js';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { rawRequest, statusOf } from '../support/raw-http.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';
import { tokensFileWith } from '../support/tokens-file.js';

const KEY = `sk-SENTINEL-KEY-${randomBytes(8).toString('hex')}`;
const TOKEN = `SENTINEL-TOKEN-${randomBytes(8).toString('hex')}`;
// A named token from the tokens file, as `relay token add` makes them.
const NAMED = generateRelayToken();
const OLLAMA_SECRET = `ollama-${randomBytes(16).toString('hex')}`;

let upstream: FakeOpenAI;
let relay: RelayProcess;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  relay = await startRelayProcess({
    env: {
      OPENAI_API_KEY: KEY,
      RELAY_TOKEN: TOKEN,
      OPENAI_BASE_URL: upstream.url,
      RELAY_TOKENS_FILE: await tokensFileWith({ alice: NAMED }),
      RELAY_MODELS: 'gpt-fake',
      RELAY_OLLAMA_PATH: `/${OLLAMA_SECRET}`,
      RELAY_OPENAI_ORGANIZATION: 'org-server',
    },
  });
});

afterAll(async () => {
  await relay?.stop();
  await upstream?.close();
});

const lastSeen = () => upstream.seen.at(-1)!;

describe('client credentials never reach the upstream', () => {
  it('drops every header that can carry a credential, and any header holding a relay token', async () => {
    const response = await fetch(`${relay.url}/v1/some/thing`, {
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'api-key': TOKEN,
        'x-api-key': TOKEN,
        'proxy-authorization': `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
        cookie: 'app_session=private-session-cookie',
        'x-goog-api-key': 'private-google-key',
        'x-custom-token': `prefix ${TOKEN} suffix`,
        'x-named': `Bearer ${NAMED}`,
        'x-kept': 'kept',
      },
    });
    expect(response.status).toBe(200);
    const { headers } = lastSeen();
    expect(headers.authorization).toBe(`Bearer ${KEY}`);
    expect(headers['x-kept']).toBe('kept');
    for (const name of ['api-key', 'x-api-key', 'proxy-authorization', 'cookie', 'x-goog-api-key', 'x-custom-token', 'x-named']) expect(headers[name], name).toBeUndefined();
    const sent = JSON.stringify(headers);
    expect(sent).not.toContain(TOKEN);
    expect(sent).not.toContain(NAMED);
    expect(sent).not.toContain('private-');
  });

  it('keeps a named token out too when the client authenticates with it', async () => {
    const client = new OpenAI({ apiKey: NAMED, baseURL: `${relay.url}/v1`, maxRetries: 0, defaultHeaders: { 'api-key': NAMED, 'x-api-key': NAMED } });
    await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
    expect(lastSeen().headers.authorization).toBe(`Bearer ${KEY}`);
    expect(JSON.stringify(lastSeen().headers)).not.toContain(NAMED);
  });
});

describe('cookies do not cross', () => {
  it("does not pass the upstream's Set-Cookie to the client", async () => {
    const response = await fetch(`${relay.url}/v1/some/thing`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    // The fake upstream did send one, as api.openai.com's CDN does.
    expect(upstream.seen.at(-1)?.url).toBe('/v1/some/thing');
  });
});

describe('OpenAI-Organization and OpenAI-Project', () => {
  it("replaces the client's with the relay's own (RELAY_OPENAI_ORGANIZATION), and sends none it was not given", async () => {
    await fetch(`${relay.url}/v1/some/thing`, { headers: { authorization: `Bearer ${TOKEN}`, 'openai-organization': 'org-client', 'openai-project': 'proj-client' } });
    expect(lastSeen().headers['openai-organization']).toBe('org-server');
    expect(lastSeen().headers['openai-project']).toBeUndefined();
  });

  it('sends the same on the calls the relay makes itself (model list)', async () => {
    await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}`, 'openai-project': 'proj-client' } });
    expect(lastSeen()).toMatchObject({ url: '/v1/models', headers: { 'openai-organization': 'org-server' } });
    expect(lastSeen().headers['openai-project']).toBeUndefined();
  });
});

describe('the model allow-list cannot be skipped', () => {
  const post = (body: string | Buffer, contentType: string) =>
    fetch(`${relay.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType }, body });

  it('refuses a body it cannot read as JSON, whatever its content type, and forwards nothing', async () => {
    const before = upstream.chatBodies.length;
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ model: 'gpt-forbidden', messages: [] }))]);
    for (const [body, type] of [[bom, 'text/plain'], [bom, 'application/json'], ['model=gpt-forbidden', 'application/x-www-form-urlencoded'], ['{"model":"gpt-forbidden"', 'text/plain']] as const) {
      const response = await post(body, type);
      expect([400, 415], `${type}: ${String(body)}`).toContain(response.status);
      expect(await response.json()).toMatchObject({ error: { message: expect.any(String), type: 'invalid_request_error' } });
    }
    expect(upstream.chatBodies.length).toBe(before);
  });

  it('refuses a model that is not a string', async () => {
    const response = await post(JSON.stringify({ model: ['gpt-forbidden'], messages: [] }), 'application/json');
    expect(response.status).toBe(400);
  });

  it('still checks JSON sent as text/plain', async () => {
    expect((await post(JSON.stringify({ model: 'gpt-forbidden', messages: [] }), 'text/plain')).status).toBe(403);
    expect((await post(JSON.stringify({ model: 'gpt-fake', messages: [] }), 'text/plain')).status).toBe(200);
  });
});

describe('the Ollama secret path never reaches the log', () => {
  it('in any place of the path, raw or percent-encoded', async () => {
    const encoded = [...OLLAMA_SECRET].map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    const targets = [
      `//${OLLAMA_SECRET}/api/tags`,
      `/x/${OLLAMA_SECRET}/api/tags`,
      `/%2F${OLLAMA_SECRET}/api/tags`,
      `/v1/${OLLAMA_SECRET}`,
      `/${encoded}/api/tags`,
      `/${encoded.replaceAll('%', '%25')}/api/tags`,
      `/${OLLAMA_SECRET.toUpperCase()}/api/tags`,
      `/${OLLAMA_SECRET}/api/tags`,
    ];
    const requestLines = () => relay.logLines().filter((line) => line.msg === 'request').length;
    const before = requestLines();
    for (const target of targets) {
      const answer = await rawRequest(relay.port, `GET ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\nconnection: close\r\n\r\n`);
      expect(statusOf(answer), target).toBeGreaterThan(0);
    }
    // A WebSocket upgrade is logged by the Realtime proxy, which hides it too.
    const upgrade = await rawRequest(relay.port, `GET /x/${OLLAMA_SECRET}/v1/realtime HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
    expect(statusOf(upgrade)).toBe(404);
    await eventually(() => requestLines() >= before + targets.length && relay.logLines().some((line) => line.msg === 'realtime'));
    const log = relay.output().toLowerCase();
    expect(log).not.toContain(OLLAMA_SECRET.slice(7));
    expect(log).not.toContain(encodeURIComponent(OLLAMA_SECRET.slice(7)).toLowerCase());
    for (const piece of [OLLAMA_SECRET.slice(7, 23), OLLAMA_SECRET.slice(23)]) expect(log).not.toContain(piece);
    expect(log).not.toContain(encoded.slice(21, 60).toLowerCase());
  });
});
