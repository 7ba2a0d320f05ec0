// The relay behind an outbound proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY), with a real tinyproxy
// on loopback: an HTTPS upstream with its own CA reached through CONNECT, a plain-HTTP one as
// forwarded requests, NO_PROXY going direct, and proxies that refuse or are not there.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MODELS, msUntilUpstreamCut, PACED_CHUNKS, startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { freePort } from '../support/free-port.js';
import { eventually, startRelayProcess, type RelayProcess } from '../support/relay-process.js';
import { hasSystemComponent } from '../support/system-component.js';
import { startTinyproxy, TINYPROXY_PACKAGE, type Tinyproxy } from '../support/tinyproxy.js';

const CERT = fileURLToPath(new URL('../support/tls/localhost.crt', import.meta.url));
const KEY = fileURLToPath(new URL('../support/tls/localhost.key', import.meta.url));
const TOKEN = 'relay-proxy-token';
const PROXY_USER = 'relay';
const PROXY_PASSWORD = `SENTINEL-PROXY-PASSWORD-${randomBytes(8).toString('hex')}`;
/** What the upstream sees as the proxy's address; the relay itself connects from 127.0.0.1. */
const PROXY_EXIT = '127.0.0.3';
const OLLAMA_SECRET = `ollama-${randomBytes(16).toString('hex')}`;

const hasTinyproxy = hasSystemComponent('tinyproxy', TINYPROXY_PACKAGE);

describe.skipIf(!hasTinyproxy)('outbound proxy', () => {
  let proxy: Tinyproxy;
  let refusing: Tinyproxy;
  let secure: FakeOpenAI;
  let plain: FakeOpenAI;
  const relays: RelayProcess[] = [];
  const relay = async (env: Record<string, string>) => {
    const started = await startRelayProcess({ env: { OPENAI_API_KEY: 'sk-proxy-test', RELAY_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: CERT, ...env } });
    relays.push(started);
    return started;
  };
  const client = (relayProcess: RelayProcess) => new OpenAI({ apiKey: TOKEN, baseURL: `${relayProcess.url}/v1`, maxRetries: 0 });
  /** The upstream's requests since `from` all came through the proxy, and there were some. */
  const allThroughProxy = (upstream: FakeOpenAI, from: number) => {
    const addresses = upstream.seen.slice(from).map((seen) => seen.remoteAddress);
    expect(addresses.length).toBeGreaterThan(0);
    expect(new Set(addresses)).toEqual(new Set([PROXY_EXIT]));
  };
  /** The status and JSON body a Realtime WebSocket is refused with. */
  const realtimeRefusal = async (relayProcess: RelayProcess) => {
    const ws = new WebSocket(`ws://127.0.0.1:${relayProcess.port}/v1/realtime?model=gpt-realtime`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const [, answer] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    let body = '';
    for await (const piece of answer) body += String(piece);
    return { status: answer.statusCode, body: JSON.parse(body) as unknown };
  };
  const connects = (upstream: FakeOpenAI, through = proxy) =>
    through.requests().filter((line) => line === `CONNECT 127.0.0.1:${upstream.port} HTTP/1.1`).length;

  beforeAll(async () => {
    proxy = await startTinyproxy({ basicAuth: { user: PROXY_USER, password: PROXY_PASSWORD }, bind: PROXY_EXIT });
    // Tunnels only to port 1: every CONNECT the relay asks for is answered 403.
    refusing = await startTinyproxy({ connectPorts: [1] });
    secure = await startFakeOpenAI('127.0.0.1', { tls: { cert: readFileSync(CERT), key: readFileSync(KEY) } });
    plain = await startFakeOpenAI();
  });

  afterAll(async () => {
    await Promise.all(relays.map((started) => started.stop()));
    await Promise.all([proxy?.stop(), refusing?.stop(), secure?.close(), plain?.close()]);
  });

  describe('an HTTPS upstream, through CONNECT (HTTPS_PROXY with credentials)', () => {
    let viaProxy: RelayProcess;
    beforeAll(async () => {
      viaProxy = await relay({
        OPENAI_BASE_URL: secure.url,
        HTTPS_PROXY: `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`,
        RELAY_OLLAMA_PATH: `/${OLLAMA_SECRET}`,
        RELAY_ANTHROPIC_MODELS: 'haiku=gpt-fake',
      });
    });

    it('answers JSON calls through a tunnel the proxy opened', async () => {
      const before = connects(secure);
      const from = secure.seen.length;
      const completion = await client(viaProxy).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0]?.message.content).toBeTruthy();
      expect(connects(secure)).toBeGreaterThan(before);
      expect(secure.seen.at(-1)?.headers.authorization).toBe('Bearer sk-proxy-test');
      allThroughProxy(secure, from);
    });

    it('streams through the proxy chunk by chunk', async () => {
      const from = secure.seen.length;
      const stream = await client(viaProxy).chat.completions.create({ model: MODELS.gated, stream: true, messages: [{ role: 'user', content: 'count' }] });
      const events = stream[Symbol.asyncIterator]();
      const parts: string[] = [];
      // The upstream writes chunk i+1 only once the client holds chunk i: nothing may be held back.
      for (let i = 0; i <= PACED_CHUNKS; i++) {
        secure.releaseChunk();
        const next = await events.next();
        const content = (next.value as OpenAI.ChatCompletionChunk | undefined)?.choices[0]?.delta.content;
        if (content) parts.push(content);
      }
      expect(parts).toEqual(Array.from({ length: PACED_CHUNKS }, (_, i) => `part${i} `));
      allThroughProxy(secure, from);
    });

    it('cancels the upstream request through the proxy when the client hangs up', async () => {
      const from = secure.seen.length;
      const aborted = secure.streamAborted();
      const controller = new AbortController();
      const stream = await client(viaProxy).chat.completions.create(
        { model: MODELS.endless, stream: true, messages: [{ role: 'user', content: 'forever' }] },
        { signal: controller.signal },
      );
      let received = 0;
      try {
        for await (const _ of stream) if (++received === 3) controller.abort();
      } catch {
        // An aborted iteration may end quietly or throw: either is a hang-up.
      }
      expect(await msUntilUpstreamCut(aborted, Date.now())).toBeLessThan(2_000);
      allThroughProxy(secure, from);
    });

    it('streams an upload through the proxy', async () => {
      const from = secure.seen.length;
      const bytes = randomBytes(512 * 1024);
      const form = new FormData();
      form.append('purpose', 'batch');
      form.append('file', new Blob([bytes]), 'big.jsonl');
      const response = await fetch(`${viaProxy.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: form });
      expect(response.status).toBe(200);
      expect(secure.uploads.at(-1)).toMatchObject({ filename: 'big.jsonl', bytes: bytes.length });
      allThroughProxy(secure, from);
    });

    it('serves the Ollama and Anthropic translations through the proxy', async () => {
      const from = secure.seen.length;
      const ollama = await fetch(`${viaProxy.url}/${OLLAMA_SECRET}/api/chat`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-fake', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(ollama.status).toBe(200);
      const anthropic = await fetch(`${viaProxy.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': TOKEN, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'haiku', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(anthropic.status).toBe(200);
      expect(((await anthropic.json()) as { type?: string }).type).toBe('message');
      expect(secure.seen.slice(from).map((seen) => seen.url)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
      allThroughProxy(secure, from);
    });

    it('opens Realtime WebSockets through a CONNECT tunnel', async () => {
      const before = connects(secure);
      const sessions = secure.realtime.length;
      const ws = new WebSocket(`ws://127.0.0.1:${viaProxy.port}/v1/realtime?model=gpt-realtime`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const first = once(ws, 'message');
      await once(ws, 'open');
      const [created] = await first;
      ws.close();
      expect(JSON.parse(String(created))).toMatchObject({ type: 'session.created' });
      expect(secure.realtime.length).toBe(sessions + 1);
      expect(secure.realtime.at(-1)?.remoteAddress).toBe(PROXY_EXIT);
      expect(connects(secure)).toBe(before + 1);
    });

    it('never shows the proxy credentials, and logs which proxy it uses', async () => {
      await eventually(() => viaProxy.logLines().some((line) => line.msg === 'realtime'));
      expect(viaProxy.output()).not.toContain(PROXY_PASSWORD);
      expect(viaProxy.output()).not.toContain(OLLAMA_SECRET);
      expect(viaProxy.logLines().find((line) => line.msg === 'relay listening')).toMatchObject({ proxy: `http://127.0.0.1:${proxy.port}` });
    });
  });

  it('forwards to a plain-HTTP upstream through the proxy (http_proxy, lower case)', async () => {
    const viaProxy = await relay({ OPENAI_BASE_URL: plain.url, http_proxy: proxy.url.replace('//', `//${PROXY_USER}:${PROXY_PASSWORD}@`) });
    const from = plain.seen.length;
    const models = await client(viaProxy).models.list();
    allThroughProxy(plain, from);
    expect(models.data.length).toBeGreaterThan(0);
    expect(proxy.requests()).toContain(`GET http://127.0.0.1:${plain.port}/v1/models HTTP/1.1`);
  });

  it('holds a plain-HTTP upstream behind the proxy to RELAY_FIRST_BYTE_TIMEOUT and RELAY_IDLE_TIMEOUT', async () => {
    const viaProxy = await relay({
      OPENAI_BASE_URL: plain.url,
      HTTP_PROXY: proxy.url.replace('//', `//${PROXY_USER}:${PROXY_PASSWORD}@`),
      RELAY_FIRST_BYTE_TIMEOUT: '500ms',
      RELAY_IDLE_TIMEOUT: '500ms',
    });
    // The client gives up long before undici's 300 s defaults (or tinyproxy's 60 s) would end it.
    const silent = await fetch(`${viaProxy.url}/v1/hang`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) });
    expect(silent.status).toBe(504);
    expect(((await silent.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect(proxy.requests()).toContain(`GET http://127.0.0.1:${plain.port}/v1/hang HTTP/1.1`);

    // A stream whose upstream goes quiet after its headers is cut by the relay, not by the client.
    const stalled = await fetch(`${viaProxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODELS.gated, stream: true, messages: [{ role: 'user', content: 'then nothing' }] }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(stalled.status).toBe(200);
    await expect(stalled.text()).rejects.toThrow();
    await eventually(() => viaProxy.logLines().some((line) => line.msg === 'request' && line.path === '/v1/chat/completions'));
    expect(viaProxy.logLines().find((line) => line.msg === 'request' && line.path === '/v1/chat/completions')).toMatchObject({ outcome: 'upstream_error' });
  });

  it('goes direct to a host NO_PROXY lists: the proxy sees nothing', async () => {
    const direct = await relay({ OPENAI_BASE_URL: plain.url, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' });
    const seenByProxy = proxy.requests().length;
    const seenByUpstream = plain.seen.length;
    await client(direct).models.list();
    expect(plain.seen.length).toBe(seenByUpstream + 1);
    expect(plain.seen.at(-1)?.remoteAddress).toBe('127.0.0.1');
    expect(proxy.requests().length).toBe(seenByProxy);
  });

  describe('a proxy that refuses, or is not there', () => {
    it("answers 502 in OpenAI's shape naming the proxy that refused the tunnel, for HTTP and Realtime", async () => {
      const refused = await relay({ OPENAI_BASE_URL: secure.url, HTTPS_PROXY: refusing.url });
      const response = await fetch(`${refused.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(502);
      const { error } = (await response.json()) as { error: { message: string; type: string; code: string } };
      expect(error).toMatchObject({ type: 'relay_error', code: 'proxy_refused' });
      expect(error.message).toContain(`http://127.0.0.1:${refusing.port}`);
      expect(error.message).toContain('403');
      expect(error.message).not.toContain(String(secure.port));
      expect(connects(secure, refusing)).toBeGreaterThan(0);

      expect(await realtimeRefusal(refused)).toMatchObject({ status: 502, body: { error: { code: 'proxy_refused' } } });
    });

    it('answers 502 naming the proxy, without its credentials, on the Ollama, Anthropic and model-list routes in their own shapes', async () => {
      const refused = await relay({
        OPENAI_BASE_URL: secure.url,
        HTTPS_PROXY: refusing.url.replace('//', `//${PROXY_USER}:${PROXY_PASSWORD}@`),
        RELAY_OLLAMA_PATH: `/${OLLAMA_SECRET}`,
        RELAY_ANTHROPIC_MODELS: 'haiku=gpt-fake',
        RELAY_MODELS: 'gpt-fake',
      });
      // RELAY_MODELS: the relay lists the models itself, through the proxy.
      const models = await fetch(`${refused.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(models.status).toBe(502);
      expect(((await models.json()) as { error: { code: string } }).error.code).toBe('proxy_refused');

      const ollama = await fetch(`${refused.url}/${OLLAMA_SECRET}/api/chat`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-fake', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(ollama.status).toBe(502);
      const ollamaError = ((await ollama.json()) as { error: string }).error;
      expect(ollamaError).toContain(`http://127.0.0.1:${refusing.port}`);
      expect(ollamaError).toContain('403');

      const anthropic = await fetch(`${refused.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': TOKEN, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'haiku', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(anthropic.status).toBe(502);
      const anthropicBody = (await anthropic.json()) as { type: string; error: { type: string; message: string } };
      expect(anthropicBody).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect(anthropicBody.error.message).toContain(`http://127.0.0.1:${refusing.port}`);
      expect(anthropicBody.error.message).toContain('403');

      for (const message of [ollamaError, anthropicBody.error.message]) {
        expect(message).not.toContain(String(secure.port));
        expect(message).not.toContain(PROXY_PASSWORD);
      }
      expect(refused.output()).not.toContain(PROXY_PASSWORD);
    });

    it('answers 502 naming the proxy when it takes the connection and never answers the CONNECT (RELAY_CONNECT_TIMEOUT)', async () => {
      const held: Socket[] = [];
      const silent = createServer((socket) => held.push(socket));
      silent.listen(0, '127.0.0.1');
      await once(silent, 'listening');
      const { port } = silent.address() as { port: number };
      try {
        const hung = await relay({ OPENAI_BASE_URL: secure.url, HTTPS_PROXY: `http://127.0.0.1:${port}`, RELAY_CONNECT_TIMEOUT: '1s' });
        const response = await fetch(`${hung.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(response.status).toBe(502);
        const { error } = (await response.json()) as { error: { message: string; code: string } };
        expect(error.code).toBe('proxy_timeout');
        expect(error.message).toContain(`http://127.0.0.1:${port}`);
        expect(error.message).not.toContain(String(secure.port));
        expect(held.length).toBeGreaterThan(0);

        expect(await realtimeRefusal(hung)).toMatchObject({ status: 502, body: { error: { code: 'proxy_timeout' } } });
      } finally {
        for (const socket of held) socket.destroy();
        silent.close();
      }
    });

    it('answers 502 naming the proxy when nothing listens there', async () => {
      const port = await freePort();
      const stranded = await relay({ OPENAI_BASE_URL: secure.url, HTTPS_PROXY: `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${port}` });
      const response = await fetch(`${stranded.url}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(502);
      const { error } = (await response.json()) as { error: { message: string; code: string } };
      expect(error.code).toBe('proxy_unreachable');
      expect(error.message).toContain(`http://127.0.0.1:${port}`);
      expect(error.message).not.toContain(PROXY_PASSWORD);
      expect(stranded.output()).not.toContain(PROXY_PASSWORD);
    });
  });
});
